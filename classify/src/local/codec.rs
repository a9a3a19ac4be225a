//! The model file: a small binary format (serde_json of millions of weights would be ten times
//! larger and slow to parse). Weights are stored as 16-bit integers with a power-of-two scale
//! per output: the rounding is exact and idempotent, so a saved model predicts exactly like
//! the trained one. A checksum and the feature-layout fingerprint make a truncated file or a
//! model trained for another lexicon an error instead of nonsense predictions.
//!
//! Layout (little endian): `RHLM`, format version u32, layout fingerprint u64, hash bits u32,
//! rows u32, outputs u32, six calibration f32, bias f32 × outputs, scale f32 × outputs,
//! weights i16 × rows × outputs, FNV-1a checksum u64 of everything before it.

use super::Error;
use super::features::{Featurizer, layout_fingerprint};
use super::hash::Fnv;
use super::model::{Calibration, LocalModel, OUTPUTS};

const MAGIC: &[u8; 4] = b"RHLM";
const FORMAT_VERSION: u32 = 1;

/// Power-of-two scale per output so that the largest weight fits an i16.
fn scales(weights: &[f32]) -> [f32; OUTPUTS] {
    let mut max = [0f32; OUTPUTS];
    for row in weights.chunks_exact(OUTPUTS) {
        for (m, w) in max.iter_mut().zip(row) {
            *m = m.max(w.abs());
        }
    }
    max.map(|m| {
        if m > 0.0 && m.is_finite() {
            2f32.powi((m / f32::from(i16::MAX)).log2().ceil() as i32)
        } else {
            1.0
        }
    })
}

fn quantise(weights: &[f32], scales: &[f32; OUTPUTS]) -> Vec<i16> {
    weights
        .chunks_exact(OUTPUTS)
        .flat_map(|row| row.iter().zip(scales).map(|(w, s)| (w / s).round() as i16))
        .collect()
}

fn dequantise(q: &[i16], scales: &[f32; OUTPUTS]) -> Vec<f32> {
    q.chunks_exact(OUTPUTS)
        .flat_map(|row| row.iter().zip(scales).map(|(q, s)| f32::from(*q) * s))
        .collect()
}

/// The weights as the file stores them.
pub(crate) fn quantised(weights: &[f32]) -> Vec<f32> {
    let s = scales(weights);
    dequantise(&quantise(weights, &s), &s)
}

fn calibration_values(c: &Calibration) -> [f32; 6] {
    [
        c.kind_temperature,
        c.vacancy_bias,
        c.category_scale,
        c.category_shift,
        c.category_threshold,
        c.category_floor,
    ]
}

impl LocalModel {
    pub fn to_bytes(&self) -> Vec<u8> {
        let scales = scales(&self.weights);
        let mut out = Vec::with_capacity(self.weights.len() * 2 + 512);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&layout_fingerprint().to_le_bytes());
        out.extend_from_slice(&self.featurizer.hash_bits().to_le_bytes());
        out.extend_from_slice(&(self.featurizer.rows() as u32).to_le_bytes());
        out.extend_from_slice(&(OUTPUTS as u32).to_le_bytes());
        let floats = calibration_values(&self.calibration)
            .into_iter()
            .chain(self.bias)
            .chain(scales);
        floats.for_each(|f| out.extend_from_slice(&f.to_le_bytes()));
        for q in quantise(&self.weights, &scales) {
            out.extend_from_slice(&q.to_le_bytes());
        }
        let checksum = Fnv::new(0).bytes(&out).value();
        out.extend_from_slice(&checksum.to_le_bytes());
        out
    }

    /// Reads a model written by [`LocalModel::to_bytes`]; anything else is an error.
    pub fn from_bytes(bytes: &[u8]) -> Result<LocalModel, Error> {
        let bad = |reason: &str| Error::Model(reason.to_string());
        let (body, checksum) = bytes
            .split_last_chunk::<8>()
            .ok_or_else(|| bad("too short"))?;
        let mut r = Reader(body);
        if r.take(4)? != MAGIC {
            return Err(bad("not a remotehunt model file"));
        }
        if r.u32()? != FORMAT_VERSION {
            return Err(bad("unsupported format version"));
        }
        if Fnv::new(0).bytes(body).value() != u64::from_le_bytes(*checksum) {
            return Err(bad("checksum mismatch: the file is damaged"));
        }
        if r.u64()? != layout_fingerprint() {
            return Err(bad(
                "trained with another lexicon or feature layout: retrain it (`remotehunt classify train`)",
            ));
        }
        let hash_bits = r.u32()?;
        if !(8..=24).contains(&hash_bits) {
            return Err(bad("hash bits out of range"));
        }
        let featurizer = Featurizer::new(hash_bits);
        if r.u32()? as usize != featurizer.rows() || r.u32()? as usize != OUTPUTS {
            return Err(bad("weight matrix shape does not match the features"));
        }
        let c: [f32; 6] = r.floats()?;
        let bias: [f32; OUTPUTS] = r.floats()?;
        let scales: [f32; OUTPUTS] = r.floats()?;
        if c.iter().chain(&bias).chain(&scales).any(|f| !f.is_finite()) || c[0] <= 0.0 {
            return Err(bad("non-finite or invalid parameters"));
        }
        let raw = r.take(featurizer.rows() * OUTPUTS * 2)?;
        if !r.0.is_empty() {
            return Err(bad("trailing bytes"));
        }
        let q: Vec<i16> = raw
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        let calibration = Calibration {
            kind_temperature: c[0],
            vacancy_bias: c[1],
            category_scale: c[2],
            category_shift: c[3],
            category_threshold: c[4],
            category_floor: c[5],
        };
        let weights = dequantise(&q, &scales);
        Ok(LocalModel::from_parts(
            featurizer,
            weights,
            bias,
            calibration,
        ))
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.0.len() < n {
            return Err(Error::Model("truncated".to_string()));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut out = [0; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64, Error> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn floats<const N: usize>(&mut self) -> Result<[f32; N], Error> {
        let mut out = [0f32; N];
        for f in &mut out {
            *f = f32::from_le_bytes(self.array()?);
        }
        Ok(out)
    }
}
