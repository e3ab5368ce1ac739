//! Authenticator models by AAGUID, so people see "iCloud Keychain" or
//! "Windows Hello" beside a passkey rather than a UUID. The table is data,
//! `static/aaguid.json`: the names from the community list
//! <https://github.com/passkeydeveloper/passkey-authenticator-aaguids>
//! (meant for exactly this, naming passkeys in account settings; it is
//! not a trust list: an authenticator without attestation reports any
//! AAGUID it likes). `tests/aaguid-refresh.sh` downloads the current list
//! into that file; the binary compiles it in and reads it once.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

const LIST: &str = include_str!("../../static/aaguid.json");

#[derive(Deserialize)]
struct Entry {
    name: String,
}

/// The shipped table; a unit test holds it to parse, so it is never empty
/// by accident.
static MODELS: LazyLock<HashMap<String, String>> =
    LazyLock::new(|| parse(LIST).unwrap_or_default());

/// A table in the community list's shape: `{"<aaguid>": {"name": ..}}`.
fn parse(json: &str) -> Result<HashMap<String, String>, serde_json::Error> {
    let entries: HashMap<String, Entry> = serde_json::from_str(json)?;
    Ok(entries
        .into_iter()
        .map(|(aaguid, e)| (aaguid.to_ascii_lowercase(), e.name))
        .collect())
}

/// How many models the table names (read at start-up, for the log).
pub fn known_models() -> usize {
    MODELS.len()
}

/// What a passkey's model reads as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Model {
    /// A model the table names.
    Known(&'static str),
    /// An AAGUID the table does not know: shown as it is.
    Unknown(String),
    /// No AAGUID, or all zeros (the authenticator does not say).
    NotReported,
}

/// The model of a passkey with this AAGUID (as stored: lowercase, hyphenated).
pub fn model(aaguid: Option<&str>) -> Model {
    const NONE: &str = "00000000-0000-0000-0000-000000000000";
    match aaguid.map(str::to_ascii_lowercase) {
        None => Model::NotReported,
        Some(a) if a == NONE => Model::NotReported,
        Some(a) => match MODELS.get(&a) {
            Some(name) => Model::Known(name.as_str()),
            None => Model::Unknown(a),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_table_parses_and_names_models() {
        let table = parse(LIST).expect("static/aaguid.json parses");
        assert!(table.len() >= 50, "{}", table.len());
        assert!(
            table
                .keys()
                .all(|k| k.len() == 36 && *k == k.to_ascii_lowercase())
        );
        assert_eq!(
            model(Some("FBFC3007-154E-4ECC-8C0B-6E020557D7BD")),
            Model::Known("Apple Passwords")
        );
        assert_eq!(
            model(Some("08987058-cadc-4b81-b6e1-30de50dcbe96")),
            Model::Known("Windows Hello")
        );
    }

    #[test]
    fn unknown_and_missing_aaguids_say_so() {
        let odd = "01020304-0506-0708-0102-030405060708";
        assert_eq!(model(Some(odd)), Model::Unknown(odd.to_owned()));
        assert_eq!(
            model(Some("00000000-0000-0000-0000-000000000000")),
            Model::NotReported
        );
        assert_eq!(model(None), Model::NotReported);
    }
}
