//! An admin's secrets for this workstation (direct mode's AWS keys, the backend token): kept in
//! the OS keyring, used from the moment they are stored, and told back only as a masked key id
//! or "workstation token".

use crate::config::{
    AWS_KEYS_ENTRY, AwsKeys, BACKEND_TOKEN_ENTRY, SecretStore, store_backend_token,
};
use crate::{Error, Result, Uploader};

impl Uploader {
    /// Stores `keys` in `store`, replacing any, and signs with them from now on (in direct
    /// mode; other modes keep them for when the workstation is switched to it).
    pub fn set_aws_keys(&self, store: &dyn SecretStore, keys: &AwsKeys) -> Result<()> {
        keys.store(store)?;
        self.transport.use_aws_keys(Some(keys));
        Ok(())
    }

    /// Removes the stored keys; the AWS chain signs from now on. Whether there were any.
    pub fn clear_aws_keys(&self, store: &dyn SecretStore) -> Result<bool> {
        let removed = store
            .delete(AWS_KEYS_ENTRY)
            .map_err(|e| Error::config(AWS_KEYS_ENTRY, format!("cannot reach the keyring: {e}")))?;
        self.transport.use_aws_keys(None);
        Ok(removed)
    }

    /// Stores the backend token in `store` and signs in with it from now on (in backend mode).
    pub fn set_backend_token(&self, store: &dyn SecretStore, token: &str) -> Result<()> {
        store_backend_token(store, token)?;
        self.transport.use_token(token.trim());
        Ok(())
    }

    /// Removes the stored backend token; requests sign in with none from now on, so the
    /// backend refuses them until a token is stored again. Whether there was one.
    pub fn clear_backend_token(&self, store: &dyn SecretStore) -> Result<bool> {
        let removed = store.delete(BACKEND_TOKEN_ENTRY).map_err(|e| {
            Error::config(
                BACKEND_TOKEN_ENTRY,
                format!("cannot reach the keyring: {e}"),
            )
        })?;
        self.transport.use_token("");
        Ok(removed)
    }
}
