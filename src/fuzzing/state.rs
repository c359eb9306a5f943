//! Client-state loaders (SPEC.md §14): the trust store.

use crate::state::TrustStore;

use super::{ensure, Outcome};

/// `TrustStore::import`: never panics; what loads re-exports to exactly the
/// input (one encoding per state), and re-imports to an equal store.
pub fn trust_store_load(data: &[u8]) -> Outcome {
    let Ok(store) = TrustStore::import(data) else {
        return Ok(());
    };
    let bytes = store.export();
    ensure(
        bytes == data,
        "trust store: re-export differs from the input",
    )?;
    ensure(
        TrustStore::import(&bytes).ok().as_ref() == Some(&store),
        "trust store: re-import differs",
    )?;
    for (account, contact) in store.contacts() {
        ensure(
            contact.current().account() == account,
            "trust store: a contact's list is another account's",
        )?;
        ensure(
            contact.history().len() <= crate::limit::MAX_TRUST_HISTORY,
            "trust store: history over its bound",
        )?;
    }
    Ok(())
}
