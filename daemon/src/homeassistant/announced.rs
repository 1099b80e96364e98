//! What the last run announced, kept in `{state_dir}/homeassistant/components.json`, so that a
//! source or camera taken out of the config has its entities removed from Home Assistant on the
//! next start (announced once with only their platform).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file of the components announced last, under `state_dir`.
pub fn file(state_dir: &Path) -> PathBuf {
    state_dir.join("homeassistant").join("components.json")
}

/// Component id → platform as last saved; empty when there is no (readable) file.
pub fn load(path: &Path) -> BTreeMap<String, String> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(
                file = %path.display(),
                "homeassistant: ignoring an unreadable list of announced components: {e}"
            );
            BTreeMap::new()
        }),
        Err(_) => BTreeMap::new(),
    }
}

/// Saves `components` (one warning if it cannot: removals are then not announced next time).
pub fn save(path: &Path, components: &BTreeMap<String, String>) {
    let result = (|| {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(components)?)?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        tracing::warn!(
            file = %path.display(),
            "homeassistant: could not save the announced components ({e}); entities of sources \
             removed later must be deleted in Home Assistant by hand"
        );
    }
}

/// The components in `previous` that `current` no longer has.
pub fn removed(
    previous: &BTreeMap<String, String>,
    current: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    previous
        .iter()
        .filter(|(k, _)| !current.contains_key(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_components_load_back_and_removals_are_the_difference() {
        let dir = tempfile::tempdir().unwrap();
        let path = file(dir.path());
        assert!(load(&path).is_empty());
        let before = BTreeMap::from([
            ("a".to_string(), "sensor".to_string()),
            ("b".to_string(), "event".to_string()),
        ]);
        save(&path, &before);
        assert_eq!(load(&path), before);
        let now = BTreeMap::from([("a".to_string(), "sensor".to_string())]);
        assert_eq!(
            removed(&before, &now),
            BTreeMap::from([("b".to_string(), "event".to_string())])
        );
        std::fs::write(&path, "not json").unwrap();
        assert!(load(&path).is_empty());
    }
}
