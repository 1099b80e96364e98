//! `perceptd classify IMAGE...`: top labels with probabilities for each image.

use anyhow::{Result, bail};
use serde::Serialize;

use super::vision_model::{load_image_model, read_image};
use crate::cli::ClassifyArgs;
use crate::vision::payload::{LabelJson, labels_json};

#[derive(Serialize)]
struct ClassifyJson<'a> {
    image: String,
    model: &'a str,
    synthetic: bool,
    labels: Vec<LabelJson>,
}

/// Runs the command; a bad image is reported on its own line and the others still run.
pub fn run(args: &ClassifyArgs) -> Result<()> {
    if args.top_k == 0 {
        bail!("--top-k must be >= 1, got 0");
    }
    let mut image_model = load_image_model(&args.vision, &args.labels, args.top_k)?;
    let mut failed = 0;
    for path in &args.images {
        let analysis = match read_image(path).and_then(|image| Ok(image_model.analyze(&image)?)) {
            Ok(a) => a,
            // One image: its error is the command's one error line.
            Err(e) if args.images.len() == 1 => return Err(e),
            Err(e) => {
                eprintln!("perceptd: error: {e:#}");
                failed += 1;
                continue;
            }
        };
        if args.vision.json {
            let line = ClassifyJson {
                image: path.display().to_string(),
                model: image_model.name(),
                synthetic: image_model.synthetic(),
                labels: labels_json(&analysis.labels),
            };
            println!("{}", serde_json::to_string(&line)?);
        } else {
            let labels: Vec<String> = analysis
                .labels
                .iter()
                .map(|l| format!("{} {:.3}", l.label, l.probability))
                .collect();
            let marker = if image_model.synthetic() {
                " [synthetic model: random weights]"
            } else {
                ""
            };
            println!("{}: {}{marker}", path.display(), labels.join(", "));
        }
    }
    if failed > 0 {
        bail!(
            "{failed} of {} images could not be classified",
            args.images.len()
        );
    }
    Ok(())
}
