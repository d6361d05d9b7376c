use sqlx::Row;

use super::{Store, StoreError};

/// An audit event as stored.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct AuditRecord {
    pub at: i64,
    pub kind: String,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    /// A JSON object.
    pub detail: String,
}

/// Which events `recent_audit_events` returns.
#[derive(Clone, Debug, Default)]
pub struct AuditQuery {
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub limit: i64,
}

const COLUMNS: usize = 6;

impl Store {
    /// Inserts events in one statement (the writer batches them).
    pub async fn insert_audit_events(&self, events: &[AuditRecord]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let rows: Vec<String> = (0..events.len())
            .map(|i| {
                let n = i * COLUMNS;
                format!(
                    "(${}, ${}, ${}, ${}, ${}, ${})",
                    n + 1,
                    n + 2,
                    n + 3,
                    n + 4,
                    n + 5,
                    n + 6
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO audit_events (at, kind, user_id, client_id, ip, detail) VALUES {}",
            rows.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for e in events {
            query = query
                .bind(e.at)
                .bind(&e.kind)
                .bind(&e.user_id)
                .bind(&e.client_id)
                .bind(&e.ip)
                .bind(&e.detail);
        }
        query.execute(&mut *self.conn().await?).await?;
        Ok(())
    }

    /// The newest events matching `q`, oldest first.
    pub async fn recent_audit_events(
        &self,
        q: &AuditQuery,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        let mut conditions = Vec::new();
        let mut n = 0;
        if q.user_id.is_some() {
            n += 1;
            conditions.push(format!("user_id = ${n}"));
        }
        if q.client_id.is_some() {
            n += 1;
            conditions.push(format!("client_id = ${n}"));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT at, kind, user_id, client_id, ip, detail FROM audit_events {filter} \
             ORDER BY id DESC LIMIT {}",
            q.limit.clamp(1, 10_000)
        );
        let mut query = sqlx::query(&sql);
        if let Some(user) = &q.user_id {
            query = query.bind(user);
        }
        if let Some(client) = &q.client_id {
            query = query.bind(client);
        }
        let rows = query.fetch_all(&mut *self.conn().await?).await?;
        let mut events = rows
            .iter()
            .map(|row| {
                Ok(AuditRecord {
                    at: row.try_get("at")?,
                    kind: row.try_get("kind")?,
                    user_id: row.try_get("user_id")?,
                    client_id: row.try_get("client_id")?,
                    ip: row.try_get("ip")?,
                    detail: row.try_get("detail")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        events.reverse();
        Ok(events)
    }
}
