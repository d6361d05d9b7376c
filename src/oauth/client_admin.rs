//! Registering and changing clients for an operator (the admin API): each change also drops
//! the client from this instance's cache at once (other instances hear of it through the
//! store's announcement, or within the cache's lifetime).

use crate::store::{ClientRecord, StoreError};

use super::client::{NewClient, RegisterError, register, rotate_secret};
use super::client_update::{ClientChanges, update};
use super::context::OAuthContext;

impl OAuthContext<'_> {
    /// Every registered client, as stored.
    pub async fn registered_clients(&self) -> Result<Vec<ClientRecord>, StoreError> {
        self.store.clients().await
    }

    /// One registered client, as stored.
    pub async fn registered_client(&self, id: &str) -> Result<Option<ClientRecord>, StoreError> {
        self.store.client(id).await
    }

    /// Registers a client (the registration rules of `client::register`); the secret, for a
    /// confidential client, is returned this once.
    pub async fn register_client(
        &self,
        new: NewClient,
    ) -> Result<(ClientRecord, Option<String>), RegisterError> {
        register(self.store, self.hasher, new, self.now).await
    }

    /// A new secret for a confidential client (`None`: no such confidential client).
    pub async fn rotate_client_secret(&self, id: &str) -> Result<Option<String>, StoreError> {
        let secret = rotate_secret(self.store, self.hasher, id, self.now).await?;
        self.clients.invalidate(id);
        Ok(secret)
    }

    /// Changes a client under the registration rules (`None`: no such client).
    pub async fn update_client(
        &self,
        id: &str,
        changes: ClientChanges,
    ) -> Result<Option<ClientRecord>, RegisterError> {
        let record = update(self.store, id, changes, self.now).await?;
        self.clients.invalidate(id);
        Ok(record)
    }

    /// Deletes a client; whether there was one.
    pub async fn delete_client(&self, id: &str) -> Result<bool, StoreError> {
        let deleted = self.store.delete_client(id).await?;
        self.clients.invalidate(id);
        Ok(deleted)
    }
}
