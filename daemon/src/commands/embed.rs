//! `perceptd embed (IMAGE | --text TEXT)`: the embedding the daemon would publish.

use anyhow::{Result, bail};
use percept_models::vision::l2_normalized;
use serde::Serialize;

use super::vision_model::{load_analyzer, read_image};
use crate::cli::EmbedArgs;

#[derive(Serialize)]
struct EmbedJson<'a> {
    model: &'a str,
    synthetic: bool,
    dim: usize,
    l2_normalized: bool,
    embedding: Vec<f32>,
}

/// Runs the command.
pub fn run(args: &EmbedArgs) -> Result<()> {
    let mut analyzer = load_analyzer(&args.vision, &[], 1)?;
    let raw = match (&args.image, &args.text) {
        (Some(path), _) => analyzer.analyze(&read_image(path)?)?.embedding,
        (None, Some(text)) => analyzer.embed_text(text)?,
        (None, None) => bail!("give an IMAGE or --text TEXT"),
    };
    let normalize = !args.raw || args.text.is_some();
    let embedding = if normalize { l2_normalized(&raw) } else { raw };
    if args.vision.json {
        let out = EmbedJson {
            model: analyzer.name(),
            synthetic: analyzer.synthetic(),
            dim: embedding.len(),
            l2_normalized: normalize,
            embedding,
        };
        println!("{}", serde_json::to_string(&out)?);
    } else {
        if analyzer.synthetic() {
            eprintln!(
                "perceptd: note: {} has SYNTHETIC (random) weights: the vector shows the path works, it means nothing",
                analyzer.name()
            );
        }
        let values: Vec<String> = embedding.iter().map(|v| format!("{v:.6}")).collect();
        println!("{}", values.join(" "));
    }
    Ok(())
}
