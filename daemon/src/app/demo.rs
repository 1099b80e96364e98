//! The demo: what `perceptd run` does without `--config`.

use std::path::Path;

use crate::config::{Config, ConfigError, ConfigFile};

/// configs/demo.toml, built into the binary.
pub const DEMO_TOML: &str = include_str!("../../../configs/demo.toml");

/// The clip looped when no microphone works (configs/demo-speech.wav, made by
/// scripts/make_demo_wav.sh).
pub const DEMO_WAV: &[u8] = include_bytes!("../../../configs/demo-speech.wav");

/// The demo config: embedded broker, default microphone (else the demo clip), the reference
/// photo as a camera, every published message logged. `models_dir` overrides the default.
pub fn demo_config(models_dir: Option<&Path>) -> Result<Config, ConfigError> {
    let origin = "configs/demo.toml (built in)";
    let mut file = ConfigFile::parse(DEMO_TOML, origin)?;
    if let Some(dir) = models_dir {
        file.models_dir = Some(dir.to_path_buf());
    }
    let mut config = file.compile(origin)?;
    // The demo's camera shows a file that `perceptd models fetch` installed.
    for camera in &mut config.cameras {
        if let Some(path) = camera.path_mut()
            && path.is_relative()
        {
            *path = config.models_dir.join(&*path);
        }
    }
    Ok(config)
}
