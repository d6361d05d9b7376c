fn main() -> std::process::ExitCode {
    munjigi::cli::main()
}
