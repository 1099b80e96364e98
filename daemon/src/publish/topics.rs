//! Every MQTT topic perceptd publishes, in one place; mirrors the topic table of docs/mqtt.md.
//! All of them start with `{prefix}/{device}` (`mqtt.topic_prefix`, the config's `device`).

/// The topics of one daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    root: String,
}

/// What a camera publishes, one topic each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CameraTopic {
    /// Label events (the set of present labels changed).
    Labels,
    /// A short caption from the top labels.
    Caption,
    /// An embedding envelope.
    Embedding,
    /// A JPEG thumbnail of the frame behind a label event.
    Snapshot,
}

impl CameraTopic {
    fn leaf(self) -> &'static str {
        match self {
            CameraTopic::Labels => "labels",
            CameraTopic::Caption => "caption",
            CameraTopic::Embedding => "embedding",
            CameraTopic::Snapshot => "snapshot",
        }
    }
}

impl Topics {
    /// The topics under `{prefix}/{device}`.
    pub fn new(prefix: &str, device: &str) -> Self {
        Self {
            root: format!("{prefix}/{device}"),
        }
    }

    /// `{prefix}/{device}`.
    pub fn root(&self) -> &str {
        &self.root
    }

    /// Availability (`online` / `offline`, retained; also the last will).
    pub fn status(&self) -> String {
        format!("{}/status", self.root)
    }

    /// The periodic counters.
    pub fn stats(&self) -> String {
        format!("{}/stats", self.root)
    }

    /// Finals of an audio source (`is_final`), or its partials.
    pub fn transcript(&self, source: &str, is_final: bool) -> String {
        let base = format!("{}/audio/{source}/transcript", self.root);
        if is_final { base } else { base + "/partial" }
    }

    /// `ON` while someone speaks to an audio source, `OFF` otherwise (retained).
    pub fn speaking(&self, source: &str) -> String {
        format!("{}/audio/{source}/speaking", self.root)
    }

    /// An audio source's listening switch state, `ON` or `OFF` (retained).
    pub fn listening(&self, source: &str) -> String {
        format!("{}/audio/{source}/listening", self.root)
    }

    /// Where `ON`/`OFF` commands for an audio source's listening switch are received.
    pub fn listening_set(&self, source: &str) -> String {
        format!("{}/audio/{source}/listening/set", self.root)
    }

    /// One of a camera's topics.
    pub fn camera(&self, source: &str, topic: CameraTopic) -> String {
        format!("{}/camera/{source}/{}", self.root, topic.leaf())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_those_of_the_docs_table() {
        let t = Topics::new("perceptd", "kitchen");
        assert_eq!(t.root(), "perceptd/kitchen");
        assert_eq!(t.status(), "perceptd/kitchen/status");
        assert_eq!(t.stats(), "perceptd/kitchen/stats");
        assert_eq!(
            t.transcript("mic", true),
            "perceptd/kitchen/audio/mic/transcript"
        );
        assert_eq!(
            t.transcript("mic", false),
            "perceptd/kitchen/audio/mic/transcript/partial"
        );
        assert_eq!(t.speaking("mic"), "perceptd/kitchen/audio/mic/speaking");
        assert_eq!(t.listening("mic"), "perceptd/kitchen/audio/mic/listening");
        assert_eq!(
            t.listening_set("mic"),
            "perceptd/kitchen/audio/mic/listening/set"
        );
        for (topic, leaf) in [
            (CameraTopic::Labels, "labels"),
            (CameraTopic::Caption, "caption"),
            (CameraTopic::Embedding, "embedding"),
            (CameraTopic::Snapshot, "snapshot"),
        ] {
            assert_eq!(
                t.camera("door", topic),
                format!("perceptd/kitchen/camera/door/{leaf}")
            );
        }
    }

    #[test]
    fn every_topic_in_the_code_is_in_the_docs_table() {
        let docs = include_str!("../../../docs/mqtt.md");
        let t = Topics::new("{prefix}", "{device}");
        let mut all = vec![
            t.status(),
            t.stats(),
            t.transcript("{source}", true),
            t.transcript("{source}", false),
            t.speaking("{source}"),
            t.listening("{source}"),
            t.listening_set("{source}"),
        ];
        for topic in [
            CameraTopic::Labels,
            CameraTopic::Caption,
            CameraTopic::Embedding,
            CameraTopic::Snapshot,
        ] {
            all.push(t.camera("{source}", topic));
        }
        for topic in all {
            assert!(
                docs.contains(&format!("| `{topic}` |")),
                "{topic} is not in docs/mqtt.md's table"
            );
        }
    }
}
