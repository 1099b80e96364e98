//! The committed table of keys Home Assistant requires per platform (`required_keys.toml`), and
//! the check of a discovery payload against it.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

/// The table, as committed.
pub const TABLE: &str = include_str!("required_keys.toml");

#[derive(Debug, Deserialize)]
struct Table {
    device_discovery: DeviceRules,
    every_component: KeyList,
    platform: BTreeMap<String, PlatformRules>,
}

#[derive(Debug, Deserialize)]
struct DeviceRules {
    required: Vec<String>,
    device: Vec<String>,
    origin: Vec<String>,
    forbidden: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct KeyList {
    required: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
struct PlatformRules {
    #[serde(default)]
    required: Vec<String>,
    #[serde(default)]
    one_of: Vec<String>,
}

/// Every way `payload` (a device discovery message) breaks the table; empty when it fits.
/// A component holding only `platform` (how a removed one is announced) is checked for a known
/// platform only.
pub fn check(payload: &Value) -> Vec<String> {
    let table: Table = toml::from_str(TABLE).expect("required_keys.toml parses");
    let mut problems = Vec::new();
    let missing = |object: &Value, keys: &[String], what: &str, problems: &mut Vec<String>| {
        for key in keys {
            if object.get(key).is_none_or(Value::is_null) {
                problems.push(format!("{what}: missing {key}"));
            }
        }
    };
    let rules = &table.device_discovery;
    missing(payload, &rules.required, "discovery", &mut problems);
    missing(&payload["device"], &rules.device, "device", &mut problems);
    missing(&payload["origin"], &rules.origin, "origin", &mut problems);
    let Some(components) = payload["components"].as_object() else {
        problems.push("components: not an object".into());
        return problems;
    };
    for (id, component) in components {
        let Some(platform) = component["platform"].as_str() else {
            problems.push(format!("{id}: no platform"));
            continue;
        };
        let Some(platform_rules) = table.platform.get(platform) else {
            problems.push(format!("{id}: platform {platform} is not in the table"));
            continue;
        };
        if component.as_object().is_some_and(|c| c.len() == 1) {
            continue;
        }
        let what = format!("{id} ({platform})");
        missing(
            component,
            &table.every_component.required,
            &what,
            &mut problems,
        );
        missing(component, &platform_rules.required, &what, &mut problems);
        let present = platform_rules
            .one_of
            .iter()
            .filter(|k| component.get(k.as_str()).is_some())
            .count();
        if !platform_rules.one_of.is_empty() && present != 1 {
            problems.push(format!(
                "{what}: needs exactly one of {:?}",
                platform_rules.one_of
            ));
        }
        for key in &rules.forbidden {
            if component.get(key).is_some() {
                problems.push(format!("{what}: {key} is deprecated"));
            }
        }
        if let Some(default_id) = component["default_entity_id"].as_str()
            && !default_id.starts_with(&format!("{platform}."))
        {
            problems.push(format!(
                "{what}: default_entity_id {default_id:?} is not {platform}.<object id>"
            ));
        }
    }
    problems
}
