//! Which keys differ between two config texts, as key paths (`speech.logprob_threshold`,
//! `camera[1].fps`); a whole table or array that appears or goes is one key.

use std::collections::BTreeMap;

use toml::Value;

/// Every key path whose value differs between `old` and `new` (both must parse as TOML; a
/// text that does not counts as empty).
pub fn changed_keys(old: &str, new: &str) -> Vec<String> {
    let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
    flatten("", &Value::Table(old.parse().unwrap_or_default()), &mut a);
    flatten("", &Value::Table(new.parse().unwrap_or_default()), &mut b);
    let mut keys: Vec<String> = a
        .iter()
        .filter(|(k, v)| b.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .chain(b.keys().filter(|k| !a.contains_key(*k)).cloned())
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

fn flatten(path: &str, value: &Value, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Table(table) => {
            for (key, v) in table {
                let p = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                flatten(&p, v, out);
            }
        }
        Value::Array(items) if items.iter().all(Value::is_table) && !items.is_empty() => {
            for (i, v) in items.iter().enumerate() {
                flatten(&format!("{path}[{i}]"), v, out);
            }
        }
        other => {
            out.insert(path.to_string(), other.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_added_and_removed_keys_are_named_by_path() {
        let old = "device = \"a\"\n[speech]\nlogprob_threshold = -1.0\n[[source]]\nname = \"x\"\nkind = \"mic\"\n";
        let new = "device = \"a\"\n[speech]\nlogprob_threshold = -0.8\nlanguage = \"en\"\n";
        assert_eq!(
            changed_keys(old, new),
            vec![
                "source[0].kind",
                "source[0].name",
                "speech.language",
                "speech.logprob_threshold"
            ]
        );
        assert!(changed_keys(old, old).is_empty());
    }
}
