//! Small helpers around tract for the image and text encoders: load a graph, look its inputs
//! and outputs up by name, pin input shapes, plan it, and read f32 outputs.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

/// A graph that failed to load or plan, or a run that failed: `path: reason`.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct GraphError {
    /// The ONNX file.
    pub path: PathBuf,
    /// What went wrong.
    pub reason: String,
}

/// An ONNX graph as written, before shapes are pinned.
pub struct OnnxGraph {
    model: InferenceModel,
    path: PathBuf,
}

/// A planned graph with named inputs and outputs.
pub struct PlannedGraph {
    plan: Arc<TypedRunnableModel>,
    path: PathBuf,
    inputs: Vec<String>,
    outputs: Vec<String>,
}

impl std::fmt::Debug for PlannedGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlannedGraph")
            .field("path", &self.path)
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .finish()
    }
}

/// The type and shape an input is pinned to.
#[derive(Debug, Clone)]
pub enum InputShape {
    /// f32 of this shape.
    F32(Vec<usize>),
    /// An integer type (as the graph declares it) of this shape.
    Int(DatumType, Vec<usize>),
}

impl OnnxGraph {
    /// Reads the ONNX file (not yet planned).
    pub fn load(path: &Path) -> Result<Self, GraphError> {
        if !path.is_file() {
            return Err(GraphError {
                path: path.to_path_buf(),
                reason: "file is missing".into(),
            });
        }
        let model = tract_onnx::onnx()
            .model_for_path(path)
            .map_err(|e| graph_error(path, e))?;
        Ok(Self {
            model,
            path: path.to_path_buf(),
        })
    }

    /// The graph's input names, in order.
    pub fn input_names(&self) -> Vec<String> {
        self.model
            .inputs
            .iter()
            .map(|o| self.model.node(o.node).name.clone())
            .collect()
    }

    /// The graph's output names, in order.
    pub fn output_names(&self) -> Vec<String> {
        self.model
            .outputs
            .iter()
            .map(|o| {
                self.model
                    .outlet_label(*o)
                    .map(str::to_string)
                    .unwrap_or_else(|| self.model.node(o.node).name.clone())
            })
            .collect()
    }

    /// The element type the graph declares for input `index`, when it declares one.
    pub fn input_datum_type(&self, index: usize) -> Option<DatumType> {
        self.model
            .input_fact(index)
            .ok()
            .and_then(|f| f.datum_type.concretize())
    }

    /// Pins every input to `shapes` (by input name; every input must be given), keeps only the
    /// outputs named in `outputs` (in that order), optimises and plans the graph.
    pub fn plan(
        mut self,
        shapes: &[(&str, InputShape)],
        outputs: &[&str],
    ) -> Result<PlannedGraph, GraphError> {
        let path = self.path.clone();
        let err = |e: TractError| graph_error(&path, e);
        let inputs = self.input_names();
        for (index, name) in inputs.iter().enumerate() {
            let Some((_, shape)) = shapes.iter().find(|(n, _)| n == name) else {
                return Err(GraphError {
                    path: path.clone(),
                    reason: format!("no shape given for graph input {name:?}"),
                });
            };
            let fact: InferenceFact = match shape {
                InputShape::F32(s) => f32::fact(s).into(),
                InputShape::Int(dt, s) => dt.fact(s).into(),
            };
            self.model.set_input_fact(index, fact).map_err(err)?;
        }
        let all_outputs = self.output_names();
        let mut selected = Vec::new();
        for wanted in outputs {
            let Some(i) = all_outputs.iter().position(|n| n == wanted) else {
                return Err(GraphError {
                    path: path.clone(),
                    reason: format!("graph has no output {wanted:?}; outputs are {all_outputs:?}"),
                });
            };
            selected.push(self.model.outputs[i]);
        }
        self.model.select_output_outlets(&selected).map_err(err)?;
        let plan = self
            .model
            .into_optimized()
            .and_then(|m| m.into_runnable())
            .map_err(err)?;
        Ok(PlannedGraph {
            plan,
            path,
            inputs,
            outputs: outputs.iter().map(|s| s.to_string()).collect(),
        })
    }
}

impl PlannedGraph {
    /// Runs the graph on `inputs` (in the graph's input order) and returns every selected
    /// output as a flat f32 vector.
    pub fn run(&self, inputs: TVec<TValue>) -> Result<Vec<Vec<f32>>, GraphError> {
        let err = |e: TractError| graph_error(&self.path, e);
        let outputs = self.plan.run(inputs).map_err(err)?;
        outputs
            .iter()
            .map(|t| {
                let t = t.cast_to::<f32>().map_err(err)?;
                let view = t.try_as_plain_ram().map_err(err)?;
                Ok(view.as_slice::<f32>().map_err(err)?.to_vec())
            })
            .collect()
    }

    /// The graph's input names, in order.
    pub fn input_names(&self) -> &[String] {
        &self.inputs
    }

    /// The file it was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn graph_error(path: &Path, e: TractError) -> GraphError {
    GraphError {
        path: path.to_path_buf(),
        reason: format!("{e:#}"),
    }
}

/// An f32 tensor of `shape` from `data` (which must have the shape's element count).
pub fn f32_tensor(shape: &[usize], data: &[f32]) -> Result<TValue, String> {
    Tensor::from_shape(shape, data)
        .map(IntoTValue::into_tvalue)
        .map_err(|e| format!("{e:#}"))
}
