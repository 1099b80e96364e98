//! The Home Assistant device id: stable across renames and reinstalls of perceptd on one host,
//! different for two instances on the same host, and never the raw machine id (systemd's
//! machine-id(5) asks applications to hash it with an app-specific key).

use sha2::{Digest, Sha256};

/// Where the machine id is read from, in order.
const MACHINE_ID_FILES: [&str; 2] = ["/etc/machine-id", "/var/lib/dbus/machine-id"];
/// The app-specific key the machine id is hashed with.
const APP_KEY: &[u8] = b"perceptd homeassistant device v1";

/// `perceptd_` and 12 hex digits of SHA-256(app key, machine id, instance).
pub fn device_id(machine_id: Option<&str>, instance: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(APP_KEY);
    hash.update([0]);
    hash.update(machine_id.unwrap_or("").trim().as_bytes());
    hash.update([0]);
    hash.update(instance.as_bytes());
    let digest = hash.finalize();
    let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("perceptd_{hex}")
}

/// This host's machine id, if one is readable (one warning when none is: the device id then
/// depends on the instance alone).
pub fn read_machine_id() -> Option<String> {
    let id = MACHINE_ID_FILES.iter().find_map(|path| {
        let text = std::fs::read_to_string(path).ok()?;
        let id = text.trim().to_string();
        (!id.is_empty()).then_some(id)
    });
    if id.is_none() {
        tracing::warn!(
            "homeassistant: no /etc/machine-id; the device id depends on homeassistant.instance \
             (or device) alone"
        );
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_stable_per_instance_and_hides_the_machine_id() {
        let machine = "0123456789abcdef0123456789abcdef";
        let a = device_id(Some(machine), "kitchen");
        assert_eq!(a, device_id(Some(&format!("{machine}\n")), "kitchen"));
        assert_ne!(
            a,
            device_id(Some(machine), "hall"),
            "two instances, two devices"
        );
        assert_ne!(
            a,
            device_id(Some("fedcba98"), "kitchen"),
            "two hosts, two devices"
        );
        assert!(
            a.starts_with("perceptd_") && a.len() == "perceptd_".len() + 12,
            "{a}"
        );
        assert!(!a.contains(&machine[..8]));
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    }
}
