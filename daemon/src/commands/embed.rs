//! `perceptd embed (IMAGE | --text TEXT)`: the embedding the daemon would publish.

use anyhow::{Result, bail};
use percept_models::vision::l2_normalized;
use serde::Serialize;

use super::vision_model::{load_image_model, read_image};
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
    let mut image_model = load_image_model(&args.vision, &[], 1)?;
    let raw = match (&args.image, &args.text) {
        (Some(path), _) => image_model.analyze(&read_image(path)?)?.embedding,
        (None, Some(text)) => image_model.embed_text(text)?,
        (None, None) => bail!("give an IMAGE or --text TEXT"),
    };
    let normalize = !args.raw || args.text.is_some();
    let embedding = if normalize { l2_normalized(&raw) } else { raw };
    if args.vision.json {
        let out = EmbedJson {
            model: image_model.name(),
            synthetic: image_model.synthetic(),
            dim: embedding.len(),
            l2_normalized: normalize,
            embedding,
        };
        println!("{}", serde_json::to_string(&out)?);
    } else {
        if image_model.synthetic() {
            eprintln!(
                "perceptd: note: {} has SYNTHETIC (random) weights: the vector shows the path works, it means nothing",
                image_model.name()
            );
        }
        let values: Vec<String> = embedding.iter().map(|v| format!("{v:.6}")).collect();
        println!("{}", values.join(" "));
    }
    Ok(())
}
