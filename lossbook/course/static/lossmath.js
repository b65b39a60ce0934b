// The numbers the course's browser widgets compute themselves, as pure functions.
//
// Each function mirrors, operation for operation, the lossbook function named in its
// comment, so that the widget in the page shows what `widget.values` holds in the
// kernel. tests/test_widget_math.py evaluates every function here in headless
// Chromium on dense grids (kinks and range ends included) and compares with lossbook.
// No imports and no DOM: the test loads this file on its own.

/** Python's `format(value, ".4g")`: 4 significant digits, exponent outside [1e-4, 1e4). */
export function formatG4(value) {
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (value === 0) return Object.is(value, -0) ? "-0" : "0";
  const [mantissa, exponentText] = value.toExponential(3).split("e");
  const exponent = Number(exponentText);
  const strip = (text) => (text.includes(".") ? text.replace(/\.?0+$/, "") : text);
  if (exponent >= -4 && exponent < 4) return strip(value.toFixed(3 - exponent));
  const sign = exponent < 0 ? "-" : "+";
  return `${strip(mantissa)}e${sign}${String(Math.abs(exponent)).padStart(2, "0")}`;
}

/** Python's `_format_number`: numbers as `.4g`, lists as `[a, b]`. */
export function formatNumber(value) {
  if (Array.isArray(value)) return `[${value.map(formatNumber).join(", ")}]`;
  return formatG4(value);
}

// ------------------------------------------------------------------ regression

/** lossbook.losses.regression._huber: ½q² + δ·linear written as q·(½q + linear). */
export function huber(error, delta) {
  const absError = Math.abs(error);
  const quadratic = Math.min(absError, delta);
  const linear = absError - quadratic;
  return quadratic * (0.5 * quadratic + linear);
}

/** d huber / d error = sign(error)·min(|error|, δ) (what autograd gives, 0 at 0). */
export function huberGrad(error, delta) {
  return Math.sign(error) * Math.min(Math.abs(error), delta);
}

/**
 * Element-wise MSE, L1, Huber(δ) and Smooth L1(β) of a residual (target 0), and
 * their derivatives: lossbook.functional's mse_loss, l1_loss, huber_loss and
 * smooth_l1_loss with reduction="none", differentiated by autograd.
 */
export function regressionPoint(residual, delta, beta) {
  return {
    mse: residual * residual,
    mse_grad: 2 * residual,
    l1: Math.abs(residual),
    l1_grad: Math.sign(residual),
    huber: huber(residual, delta),
    huber_grad: huberGrad(residual, delta),
    smooth_l1: huber(residual, beta) / beta,
    smooth_l1_grad: huberGrad(residual, beta) / beta,
  };
}

// ------------------------------------------------------------------ binary

const LOG_FLOOR = -100; // torch's BCELoss clamps its logs at −100
// and divides its gradient by at least 1e-12, a float32 constant in torch's kernel
const GRAD_EPSILON = Math.fround(1e-12);

/**
 * −log p as binary_cross_entropy(p, 1) with torch's clamp, and torch's gradient
 * (p − y) / max(p(1 − p), 1e-12) (lossbook.losses.binary._ClampedBinaryCrossEntropy).
 */
export function negLogPoint(p) {
  const target = 1;
  const logProbs = Math.max(Math.log(p), LOG_FLOOR);
  const logOneMinusProbs = Math.max(Math.log1p(-p), LOG_FLOOR);
  const loss = (target - 1) * logOneMinusProbs - target * logProbs;
  const curvature = Math.max((1 - p) * p, GRAD_EPSILON);
  return { loss, grad: (p - target) / curvature };
}

/** log σ(z) = min(z, 0) − log(1 + e^{−|z|}) (torch.nn.functional.logsigmoid). */
export function logSigmoid(z) {
  return Math.min(z, 0) - Math.log1p(Math.exp(-Math.abs(z)));
}

/** σ(z) = 1 / (1 + e^{−z}) (torch.sigmoid). */
export function sigmoid(z) {
  return 1 / (1 + Math.exp(-z));
}

/**
 * Cross-entropy and focal loss of a positive example whose true label has
 * probability p_t: logit log(p_t) − log(1 − p_t), then lossbook.functional's
 * binary_cross_entropy_with_logits and sigmoid_focal_loss (alpha < 0: no α).
 */
export function focalPoint(pT, gamma, alpha) {
  const target = 1;
  const logit = Math.log(pT) - Math.log1p(-pT);
  const ce = (1 - target) * logit - logSigmoid(logit);
  const probs = sigmoid(logit);
  const pTrue = probs * target + (1 - probs) * (1 - target);
  let focal = ce * (1 - pTrue) ** gamma;
  if (alpha >= 0) {
    const alphaT = alpha * target + (1 - alpha) * (1 - target);
    focal = alphaT * focal;
  }
  return { ce, focal };
}

// ------------------------------------------------------------------ cross-entropy

/**
 * One sample of lossbook.losses.pipeline.cross_entropy_steps: logits (C,) and a
 * class index, label smoothing ε spreading ε/C over every class.
 * Returns probs, logProbs, targetDist (C,) and the loss −Σ q·log p, and grad = p·Σq − q.
 */
export function crossEntropySteps(logits, target, labelSmoothing = 0) {
  const maxLogit = Math.max(...logits);
  const shifted = logits.map((z) => z - maxLogit);
  const exps = shifted.map(Math.exp);
  const sumExps = exps.reduce((total, e) => total + e, 0);
  const logSum = Math.log(sumExps);
  const probs = exps.map((e) => e / sumExps);
  const logProbs = shifted.map((s) => s - logSum);
  let targetDist = logits.map((_, c) => (c === target ? 1 : 0));
  if (labelSmoothing > 0) {
    targetDist = targetDist.map((q) => q * (1 - labelSmoothing) + labelSmoothing / logits.length);
  }
  const loss = -targetDist.reduce((total, q, c) => total + q * logProbs[c], 0);
  const distSum = targetDist.reduce((total, q) => total + q, 0);
  const grad = probs.map((p, c) => p * distSum - targetDist[c]);
  return { probs, logProbs, targetDist, loss, grad };
}

/** The cross-entropy pipeline widget: softmax(z / T), −log p[target], softmax − one_hot. */
export function crossEntropyPipelinePoint(logits, temperature, target) {
  const steps = crossEntropySteps(
    logits.map((z) => z / temperature),
    target,
  );
  return { probs: steps.probs, loss: steps.loss, grad: steps.grad };
}

/** The label smoothing widget: the smoothed target, its loss, and the loss with ε = 0. */
export function labelSmoothingPoint(logits, target, epsilon) {
  const smoothed = crossEntropySteps(logits, target, epsilon);
  return {
    target_distribution: smoothed.targetDist,
    loss: smoothed.loss,
    loss_without_smoothing: crossEntropySteps(logits, target).loss,
  };
}
