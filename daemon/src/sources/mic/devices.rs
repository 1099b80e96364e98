//! Finding capture devices by name.
//!
//! A device's name is its cpal id, `<host>:<id>`. With the ALSA host (the default on Linux)
//! that is `alsa:` plus the ALSA PCM name: `alsa:default`, `alsa:pulse` (the PulseAudio plugin),
//! `alsa:sysdefault:CARD=PCH`, `alsa:hw:CARD=0,DEV=0`, `alsa:plughw:CARD=0,DEV=0` … A name may
//! be given with or without the host prefix (`pulse` = `alsa:pulse`), or as the device's
//! description as cpal reports it.

use cpal::Device;
use cpal::traits::{DeviceTrait, HostTrait};

use crate::sources::SourceError;

/// The name perceptd shows for a device: its cpal id (`alsa:default`).
pub(super) fn device_name(device: &Device) -> String {
    match device.id() {
        Ok(id) => id.to_string(),
        Err(_) => description(device).unwrap_or_else(|| "unknown device".to_owned()),
    }
}

fn description(device: &Device) -> Option<String> {
    device.description().ok().map(|d| d.name().to_owned())
}

/// Names of the default host's input devices: the default input first, then the others in
/// the host's order.
///
/// Listing does not open the devices, so a name being listed does not mean it can capture.
pub fn list_input_devices() -> Result<Vec<String>, SourceError> {
    Ok(input_devices()?.iter().map(device_name).collect())
}

/// The default input device (which ALSA's hints leave out) followed by the listed ones.
fn input_devices() -> Result<Vec<Device>, SourceError> {
    let host = cpal::default_host();
    let listed = host.input_devices().map_err(|error| SourceError::Host {
        reason: error.to_string(),
    })?;
    let mut devices: Vec<Device> = host.default_input_device().into_iter().collect();
    for device in listed {
        if !devices.contains(&device) {
            devices.push(device);
        }
    }
    Ok(devices)
}

/// The default input device, or the input device called `name`.
pub(super) fn find_input_device(name: Option<&str>) -> Result<Device, SourceError> {
    let Some(name) = name else {
        let host = cpal::default_host();
        return host
            .default_input_device()
            .ok_or_else(|| SourceError::DeviceUnavailable {
                device: "default".to_owned(),
                reason: format!("the {} audio host has no default input device", host.id()),
            });
    };
    let mut devices = input_devices()?;
    let matches = |device: &Device| {
        let id = device.id().ok();
        id.as_ref()
            .is_some_and(|id| id.to_string() == name || id.id() == name)
            || description(device).is_some_and(|d| d == name)
    };
    match devices.iter().position(matches) {
        Some(index) => Ok(devices.swap_remove(index)),
        None => Err(SourceError::DeviceNotFound {
            name: name.to_owned(),
            available: devices.iter().map(device_name).collect(),
        }),
    }
}
