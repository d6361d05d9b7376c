-- One fixed request for wrk, described by the environment so run.py needs no per-scenario script.
--   WRK_METHOD  GET or POST
--   WRK_BODY    request body (may be empty)
--   WRK_HEADERS a flat JSON object of header names to values
local method = os.getenv("WRK_METHOD") or "GET"
local body = os.getenv("WRK_BODY") or ""
local headers_json = os.getenv("WRK_HEADERS") or "{}"

local headers = {}
-- Values here are ours (base64, tokens, content types): no escaped quotes to handle.
for name, value in string.gmatch(headers_json, '"([^"]+)"%s*:%s*"([^"]*)"') do
  headers[name] = value
end

wrk.method = method
wrk.headers = headers
if body ~= "" then
  wrk.body = body
end

local request_text
init = function(args)
  request_text = wrk.format(method, nil, headers, body ~= "" and body or nil)
end

request = function()
  return request_text
end
