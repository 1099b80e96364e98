//! CLIP (contrastive image-text) support.
//!
//! - [`tokenizer`]: the BPE tokenizer on `bpe_simple_vocab_16e6.txt.gz`, with the text clean-up
//!   of the reference (`ftfy`-like fixes, HTML unescaping, lower-casing), a context of 77,
//!   start/end tokens, truncation and the attention mask.

mod text_clean;
pub mod tokenizer;
