// The course's widgets in the browser: sliders and a canvas, no kernel round trip per step.
//
// One anywidget module for every widget; the model's `kind` picks the figure. The
// kernel sends, once, everything it computed with lossbook (`setup`: data, curves and,
// for widgets that fit a model, a table over the slider's grid); the numbers that
// depend on the sliders in closed form come from ./lossmath.js, proven equal to
// lossbook by tests/test_widget_math.py. Every slider step draws at once; after the
// frame the sliders' state goes to the kernel (model.set + save_changes: the kernel's
// echo then never rolls a drag back), so `widget.values` in Python follows.
//
// lossbook/course/widgets.py inlines lossmath.js in place of the import line below:
// the module the page loads has no imports.
import * as lossmath from "./lossmath.js";

// ------------------------------------------------------------------ a small plotting kit

const FONT = "11px sans-serif";
const SMALL_FONT = "9px sans-serif";
const MARGIN = { left: 58, right: 14, top: 44, bottom: 42 };
const GAP = 64;

/** Round tick positions covering [low, high], about `count` of them. */
function ticks(low, high, count = 5) {
  const raw = (high - low) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  const step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude;
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  const values = [];
  for (let i = Math.ceil(low / step - 1e-9); i * step <= high + step * 1e-9; i += 1) {
    values.push(i * step);
  }
  return values.map((v) => ({ value: v, text: v.toFixed(decimals).replace(/^-(0\.?0*)$/, "$1").replace("-", "−") }));
}

/** Words of `text` in lines no wider than `width` pixels. */
function wrap(ctx, text, width) {
  const lines = [];
  let line = "";
  for (const word of text.split(" ")) {
    const candidate = line ? `${line} ${word}` : word;
    if (line && ctx.measureText(candidate).width > width) {
      lines.push(line);
      line = word;
    } else {
      line = candidate;
    }
  }
  return [...lines, line];
}

/** One axes: data limits mapped onto a box of the canvas. */
class Panel {
  constructor(ctx, box, { xlim, ylim, title = "", xlabel = "", ylabel = "", categories = null }) {
    Object.assign(this, { ctx, box, xlim, ylim, title, xlabel, ylabel, categories });
  }

  px(x) {
    const [low, high] = this.xlim;
    return this.box.x + ((x - low) / (high - low)) * this.box.w;
  }

  py(y) {
    const [low, high] = this.ylim;
    return this.box.y + this.box.h - ((y - low) / (high - low)) * this.box.h;
  }

  /** Grid, ticks, the left and bottom spines, labels and title. */
  frame() {
    const { ctx, box } = this;
    ctx.save();
    ctx.font = FONT;
    ctx.fillStyle = "#000";
    ctx.strokeStyle = "rgba(176,176,176,0.45)";
    ctx.lineWidth = 1;
    const xTicks = this.categories
      ? this.categories.map((text, i) => ({ value: i, text }))
      : ticks(...this.xlim);
    const yTicks = ticks(...this.ylim);
    ctx.beginPath();
    for (const t of xTicks) {
      const x = Math.round(this.px(t.value)) + 0.5;
      ctx.moveTo(x, box.y);
      ctx.lineTo(x, box.y + box.h);
    }
    for (const t of yTicks) {
      const y = Math.round(this.py(t.value)) + 0.5;
      ctx.moveTo(box.x, y);
      ctx.lineTo(box.x + box.w, y);
    }
    ctx.stroke();
    ctx.strokeStyle = "#000";
    ctx.beginPath();
    ctx.moveTo(box.x + 0.5, box.y);
    ctx.lineTo(box.x + 0.5, box.y + box.h + 0.5);
    ctx.lineTo(box.x + box.w, box.y + box.h + 0.5);
    ctx.stroke();
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    ctx.font = this.categories ? SMALL_FONT : FONT;
    for (const t of xTicks) ctx.fillText(t.text, this.px(t.value), box.y + box.h + 5);
    ctx.font = FONT;
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    for (const t of yTicks) ctx.fillText(t.text, box.x - 5, this.py(t.value));
    ctx.textAlign = "center";
    ctx.textBaseline = "bottom";
    ctx.fillText(this.xlabel, box.x + box.w / 2, box.y + box.h + 38);
    const lines = wrap(ctx, this.title, box.w);
    lines.forEach((line, i) => ctx.fillText(line, box.x + box.w / 2, box.y - 6 - 14 * (lines.length - 1 - i)));
    ctx.translate(box.x - 42, box.y + box.h / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = "bottom";
    ctx.fillText(this.ylabel, 0, 0);
    ctx.restore();
  }

  /** Draw inside the axes only. */
  clipped(draw) {
    const { ctx, box } = this;
    ctx.save();
    ctx.beginPath();
    ctx.rect(box.x, box.y, box.w, box.h);
    ctx.clip();
    draw();
    ctx.restore();
  }

  line(xs, ys, color, { dash = null, width = 2, alpha = 1 } = {}) {
    this.clipped(() => {
      const { ctx } = this;
      ctx.strokeStyle = color;
      ctx.lineWidth = width;
      ctx.globalAlpha = alpha;
      ctx.setLineDash(dash === "dashed" ? [7, 3] : dash === "dotted" ? [2, 3.3] : []);
      ctx.lineJoin = "round";
      ctx.beginPath();
      xs.forEach((x, i) => {
        const y = Math.max(-1e6, Math.min(1e6, this.py(ys[i])));
        if (i === 0) ctx.moveTo(this.px(x), y);
        else ctx.lineTo(this.px(x), y);
      });
      ctx.stroke();
    });
  }

  hline(y, color, options = {}) {
    this.line(this.xlim, [y, y], color, { width: 1, ...options });
  }

  dots(xs, ys, color, { size = 8, edge = "#fff", alpha = 1 } = {}) {
    const { ctx } = this;
    ctx.save();
    ctx.fillStyle = color;
    ctx.strokeStyle = edge;
    ctx.globalAlpha = alpha;
    ctx.lineWidth = edge ? 1 : 0;
    xs.forEach((x, i) => {
      ctx.beginPath();
      ctx.arc(this.px(x), this.py(ys[i]), size / 2, 0, 2 * Math.PI);
      ctx.fill();
      if (edge) ctx.stroke();
    });
    ctx.restore();
  }

  /** Vertical ticks ('|' markers) of height `size` pixels at (xs, y). */
  rug(xs, y, color, size = 8) {
    this.clipped(() => {
      const { ctx } = this;
      ctx.strokeStyle = color;
      ctx.lineWidth = 1.2;
      ctx.beginPath();
      for (const x of xs) {
        ctx.moveTo(this.px(x), this.py(y) - size / 2);
        ctx.lineTo(this.px(x), this.py(y) + size / 2);
      }
      ctx.stroke();
    });
  }

  /** One bar per category i at i + offset, from 0 to heights[i]. */
  bars(heights, { colors, width = 0.7, offset = 0, edges = [], edgeWidth = 2 }) {
    this.clipped(() => {
      const { ctx } = this;
      heights.forEach((height, i) => {
        const left = this.px(i + offset - width / 2);
        const right = this.px(i + offset + width / 2);
        const top = this.py(Math.max(height, 0));
        const bottom = this.py(Math.min(height, 0));
        const fill = Array.isArray(colors) ? colors[i] : colors;
        if (fill !== "none") {
          ctx.fillStyle = fill;
          ctx.fillRect(left, top, right - left, bottom - top);
        }
        if (edges[i]) {
          ctx.strokeStyle = edges[i];
          ctx.lineWidth = edgeWidth;
          ctx.strokeRect(left, top, right - left, bottom - top);
        }
      });
    });
  }

  /** Text at data coordinates (x, y); `align` left | center | right, baseline bottom. */
  text(x, y, text, { align = "center", color = "#000", box = false } = {}) {
    const { ctx } = this;
    ctx.save();
    ctx.font = "10px sans-serif";
    ctx.textAlign = align;
    ctx.textBaseline = "bottom";
    const px = this.px(x);
    const py = this.py(y) - 2;
    if (box) {
      const width = ctx.measureText(text).width;
      const left = align === "left" ? px : align === "right" ? px - width : px - width / 2;
      ctx.fillStyle = "rgba(255,255,255,0.85)";
      ctx.fillRect(left - 2, py - 13, width + 4, 15);
    }
    ctx.fillStyle = color;
    ctx.fillText(text, px, py);
    ctx.restore();
  }

  /** Legend entries {label, color, dash?, kind: line | box | dot | rug | outline} at `where`. */
  legend(entries, where = "upper right") {
    const { ctx, box } = this;
    ctx.save();
    ctx.font = SMALL_FONT;
    const width = 30 + Math.max(...entries.map((e) => ctx.measureText(e.label).width));
    const height = 14 * entries.length;
    const left = where.endsWith("left")
      ? box.x + 8
      : where.endsWith("center")
        ? box.x + (box.w - width) / 2
        : box.x + box.w - width - 4;
    const top = where.startsWith("upper") ? box.y + 6 : box.y + (box.h - height) / 2;
    ctx.textBaseline = "middle";
    entries.forEach((entry, i) => {
      const y = top + 7 + 14 * i;
      ctx.strokeStyle = entry.color;
      ctx.fillStyle = entry.color;
      ctx.lineWidth = 2;
      if (entry.kind === "box") ctx.fillRect(left, y - 4, 18, 8);
      else if (entry.kind === "outline") ctx.strokeRect(left + 1, y - 4, 16, 8);
      else if (entry.kind === "dot") {
        ctx.beginPath();
        ctx.arc(left + 9, y, 3, 0, 2 * Math.PI);
        ctx.fill();
      } else if (entry.kind === "rug") {
        ctx.beginPath();
        ctx.moveTo(left + 9, y - 5);
        ctx.lineTo(left + 9, y + 5);
        ctx.stroke();
      } else {
        // Dashes as separate segments: Chromium rasterises a canvas's very first
        // dashed stroke with a different phase than the later ones.
        const [on, off] = { dashed: [5, 2], dotted: [2, 2] }[entry.dash] || [18, 0];
        ctx.beginPath();
        for (let x = 0; x < 18; x += on + off) {
          ctx.moveTo(left + x, y);
          ctx.lineTo(left + Math.min(x + on, 18), y);
        }
        ctx.stroke();
      }
      ctx.fillStyle = "#000";
      ctx.fillText(entry.label, left + 24, y);
    });
    ctx.restore();
  }
}

/** `n` panels side by side on a `width` × `height` canvas, each with its options. */
function panels(ctx, width, height, options) {
  const n = options.length;
  const w = (width - MARGIN.left - MARGIN.right - GAP * (n - 1)) / n;
  const h = height - MARGIN.top - MARGIN.bottom;
  return options.map(
    (option, i) => new Panel(ctx, { x: MARGIN.left + i * (w + GAP), y: MARGIN.top, w, h }, option),
  );
}

function linspace(low, high, count) {
  return Array.from({ length: count }, (_, i) => low + ((high - low) * i) / (count - 1));
}

function pad(low, high) {
  const margin = 0.05 * (high - low);
  return [low - margin, high + margin];
}

// ------------------------------------------------------------------ the widgets

// Each kind: `size` [width, height] in CSS pixels; `compute(setup, state)` the numbers
// the sliders change (omitted: looked up in setup.table); `draw(ctx, setup, state, values)`.
const KINDS = {
  accuracy_landscape: {
    size: [960, 360],
    draw(ctx, s, state, v) {
      const { color, classColor } = s.style;
      const [acc, ce] = panels(ctx, 960, 360, [
        {
          xlim: pad(-3, 3),
          ylim: [0.25, 1.0],
          title: "Accuracy is flat: zero gradient between steps",
          xlabel: "threshold w",
          ylabel: "accuracy",
        },
        {
          xlim: pad(-3, 3),
          ylim: [0, s.ce_max * 1.05],
          title: "Cross-entropy slopes: a gradient to follow",
          xlabel: "threshold w",
          ylabel: "mean cross-entropy",
        },
      ]);
      acc.frame();
      ce.frame();
      acc.line(s.w_grid, s.accuracy_curve, color.accuracy);
      for (const cls of [0, 1]) {
        const xs = s.x.filter((_, i) => s.labels[i] === cls);
        acc.rug(xs, 0.27 + 0.03 * cls, classColor[cls]);
      }
      acc.legend(
        [
          { label: "accuracy", color: color.accuracy },
          { label: "class 0 points", color: classColor[0], kind: "rug" },
          { label: "class 1 points", color: classColor[1], kind: "rug" },
        ],
        "upper left",
      );
      acc.dots([state.w], [v.accuracy], color.accuracy);
      ce.line(s.w_grid, s.ce_curve, color.ce);
      const span = [state.w - 0.8, state.w + 0.8];
      ce.line(span, span.map((w) => v.ce_loss + v.ce_grad * (w - state.w)), color.accuracy, {
        dash: "dotted",
        width: 2.5,
      });
      ce.dots([state.w], [v.ce_loss], color.ce);
      ce.legend(
        [
          { label: "cross-entropy", color: color.ce },
          { label: "tangent", color: color.accuracy, dash: "dotted" },
        ],
        "upper center",
      );
    },
  },

  regression_penalties: {
    size: [960, 360],
    compute(s, state) {
      return lossmath.regressionPoint(state.residual, state.delta, state.beta);
    },
    draw(ctx, s, state, v) {
      const { color, label, dash } = s.style;
      const names = ["mse", "l1", "huber", "smooth_l1"];
      const grid = linspace(-4, 4, 401);
      const points = grid.map((r) => lossmath.regressionPoint(r, state.delta, state.beta));
      const [loss, grad] = panels(ctx, 960, 360, [
        {
          xlim: pad(-4, 4),
          ylim: [0, 5],
          title: "Far from the target MSE grows quadratically, the others linearly",
          xlabel: "residual  ŷ − y",
          ylabel: "loss",
        },
        {
          xlim: pad(-4, 4),
          ylim: [-4.5, 4.5],
          title: "MSE's gradient grows without bound; Huber's stops at ±δ",
          xlabel: "residual  ŷ − y",
          ylabel: "gradient  ∂loss/∂ŷ",
        },
      ]);
      loss.frame();
      grad.frame();
      for (const name of names) {
        const options = { dash: dash[name] };
        loss.line(grid, points.map((p) => p[name]), color[name], options);
        grad.line(grid, points.map((p) => p[`${name}_grad`]), color[name], options);
      }
      for (const name of names) {
        const size = name === "smooth_l1" ? 5 : 8;
        loss.dots([state.residual], [v[name]], color[name], { size });
        grad.dots([state.residual], [v[`${name}_grad`]], color[name], { size });
      }
      loss.legend(
        names.map((name) => ({ label: label[name], color: color[name], dash: dash[name] })),
        "upper center",
      );
    },
  },

  outlier_fit: {
    size: [720, 420],
    draw(ctx, s, state, v) {
      const { color, label } = s.style;
      const [ax] = panels(ctx, 720, 420, [
        {
          xlim: [-0.5, 10.5],
          ylim: [-11, 26],
          title: "One outlier drags the MSE line; L1 and Huber barely move",
          xlabel: "x",
          ylabel: "y",
        },
      ]);
      ax.frame();
      const n = s.x.length;
      ax.dots(s.x.slice(0, n - 1), s.y.slice(0, n - 1), color.data, { size: 6, edge: null });
      const ends = [-0.5, 10.5];
      const names = ["mse", "l1", "huber"];
      for (const name of names) {
        const slope = v[`${name}_slope`];
        const intercept = v[`${name}_intercept`];
        ax.line(ends, ends.map((x) => slope * x + intercept), color[name]);
      }
      ax.dots([s.x[n - 1]], [state.outlier_y], color.data, { size: 10 });
      ax.legend(
        [
          { label: "data", color: color.data, kind: "dot" },
          ...names.map((name) => ({ label: `${label[name]} fit`, color: color[name] })),
        ],
        "upper left",
      );
    },
  },

  bce_penalty: {
    size: [960, 360],
    draw(ctx, s, state, v) {
      const { color, dash } = s.style;
      const [prob, logit] = panels(ctx, 960, 360, [
        {
          xlim: [0, 1],
          ylim: [0, 7],
          title: "Confident and wrong costs the most",
          xlabel: "predicted probability p",
          ylabel: "BCE",
        },
        {
          xlim: [-120, 10],
          ylim: [0, 125],
          title: "Once σ(z) underflows, BCE on it is stuck at 100",
          xlabel: "logit z (target 1, float32)",
          ylabel: "loss",
        },
      ]);
      prob.frame();
      logit.frame();
      prob.line(s.probs, s.bce_target_1, color.bce);
      prob.line(s.probs, s.bce_target_0, color.bce, { dash: "dashed" });
      prob.legend(
        [
          { label: "target 1:  −log p", color: color.bce },
          { label: "target 0:  −log(1 − p)", color: color.bce, dash: "dashed" },
        ],
        "upper center",
      );
      logit.line(s.logits, s.bce_of_logit, color.bce);
      logit.line(s.logits, s.bce_with_logits, color.bce_with_logits, { dash: dash.bce_with_logits });
      logit.legend(
        [
          { label: "BCELoss(sigmoid(z))", color: color.bce },
          { label: "BCEWithLogitsLoss(z)", color: color.bce_with_logits, dash: "dashed" },
        ],
      );
      // The probability panel stops where −log p leaves the axes anyway.
      const shown = Math.min(Math.max(v.prob, 1e-3), 1 - 1e-3);
      prob.dots([shown], [-Math.log(shown)], color.bce);
      prob.dots([shown], [-Math.log1p(-shown)], color.bce, { size: 6 });
      logit.dots([state.logit], [v.bce], color.bce);
      logit.dots([state.logit], [v.bce_with_logits], color.bce_with_logits, { size: 6 });
    },
  },

  pos_weight_explorer: {
    size: [960, 360],
    draw(ctx, s, state, v) {
      const { color, classColor } = s.style;
      const [share, fit] = panels(ctx, 960, 360, [
        {
          xlim: [-0.6, 2.6],
          ylim: [0, 1],
          title: "pos_weight = n_neg/n_pos gives positives half",
          ylabel: "positives' share",
          categories: ["loss, start", "gradient, start", "loss, fitted"],
        },
        {
          xlim: [-4.5, 4.5],
          ylim: [-0.15, 1.15],
          title: "More pos_weight: threshold moves left, recall rises",
          xlabel: "feature x",
          ylabel: "label / predicted probability",
        },
      ]);
      share.frame();
      fit.frame();
      share.bars(
        [v.positive_loss_share, v.positive_grad_share, v.positive_loss_share_fitted],
        { colors: classColor[1] },
      );
      share.hline(0.5, color.accuracy, { dash: "dotted" });
      for (const cls of [0, 1]) {
        const index = s.labels.map((label, i) => (label === cls ? i : -1)).filter((i) => i >= 0);
        fit.dots(
          index.map((i) => s.x[i]),
          index.map((i) => cls + s.jitter[i]),
          classColor[cls],
          { size: 5, edge: null, alpha: 0.6 },
        );
      }
      const grid = linspace(-4.5, 4.5, 200);
      fit.line(grid, grid.map((x) => 1 / (1 + Math.exp(-(v.slope * x + v.intercept)))), color.bce_with_logits);
      fit.line([v.threshold, v.threshold], [-0.15, 1.15], color.accuracy, { dash: "dashed", width: 1.2 });
      fit.legend(
        [
          { label: `negative (n=${s.n_neg})`, color: classColor[0], kind: "dot" },
          { label: `positive (n=${s.n_pos})`, color: classColor[1], kind: "dot" },
          { label: "fitted p(x)", color: color.bce_with_logits },
          { label: "threshold p = 0.5", color: color.accuracy, dash: "dashed" },
        ],
        "center left",
      );
    },
  },

  cross_entropy_pipeline: {
    size: [960, 360],
    compute(s, state) {
      const logits = s.names.map((_, c) => state[`logit_${c}`]);
      return lossmath.crossEntropyPipelinePoint(logits, state.temperature, s.target);
    },
    draw(ctx, s, state, v) {
      const { color, classColor } = s.style;
      const n = s.names.length;
      const categories = s.names;
      const xlim = [-0.6, n - 0.4];
      const [logitPanel, probPanel, gradPanel] = panels(ctx, 960, 360, [
        { xlim, ylim: [-5, 5], title: "Logits: any real number", ylabel: "logit z", categories },
        { xlim, ylim: [0, 1.12], title: "Probabilities sum to 1", ylabel: "softmax(z / T)", categories },
        { xlim, ylim: [-1, 1], title: "Gradient: softmax − one_hot", ylabel: "∂loss/∂(z / T)", categories },
      ]);
      const colors = classColor.slice(0, n);
      const edges = s.names.map((_, c) => (c === s.target ? color.accuracy : null));
      logitPanel.frame();
      probPanel.frame();
      gradPanel.frame();
      logitPanel.hline(0, color.accuracy, { width: 0.8 });
      gradPanel.hline(0, color.accuracy, { width: 0.8 });
      logitPanel.bars(s.names.map((_, c) => state[`logit_${c}`]), { colors, edges });
      probPanel.bars(v.probs, { colors, edges });
      gradPanel.bars(v.grad, { colors });
      const anchor = s.target === 0 ? "left" : s.target === n - 1 ? "right" : "center";
      const textX = s.target + { left: -0.35, right: 0.35, center: 0 }[anchor];
      probPanel.text(textX, v.probs[s.target] + 0.01, `−log p = ${v.loss.toFixed(3)}`, {
        align: anchor,
        color: color.ce,
        box: true,
      });
    },
  },

  neg_log_curve: {
    size: [640, 380],
    compute(s, state) {
      return lossmath.negLogPoint(state.p);
    },
    draw(ctx, s, state, v) {
      const { color } = s.style;
      const [ax] = panels(ctx, 640, 380, [
        {
          xlim: [0, 1.02],
          ylim: [0, 5.5],
          title: "Near 0 when right, steep when confidently wrong",
          xlabel: "probability of the true class p",
          ylabel: "loss  −log p",
        },
      ]);
      ax.frame();
      const grid = linspace(0.005, 1, 400);
      ax.line(grid, grid.map((p) => lossmath.negLogPoint(p).loss), color.nll);
      const span = [Math.max(state.p - 0.15, 1e-3), Math.min(state.p + 0.15, 1.02)];
      ax.line(span, span.map((p) => v.loss + v.grad * (p - state.p)), color.accuracy, {
        dash: "dotted",
        width: 2.5,
      });
      ax.dots([state.p], [v.loss], color.nll);
      ax.legend([
        { label: "−log p", color: color.nll },
        { label: "tangent", color: color.accuracy, dash: "dotted" },
      ]);
    },
  },

  label_smoothing_explorer: {
    size: [960, 360],
    compute(s, state) {
      return lossmath.labelSmoothingPoint(s.logits, s.target, state.epsilon);
    },
    draw(ctx, s, state, v) {
      const { color } = s.style;
      const n = s.logits.length;
      const epsilons = linspace(0, 0.5, 51);
      const curve = epsilons.map((e) => lossmath.labelSmoothingPoint(s.logits, s.target, e).loss);
      const all = [...curve, v.loss_without_smoothing];
      const low = Math.min(...all);
      const high = Math.max(...all);
      const span = high - low;
      const [dist, loss] = panels(ctx, 960, 360, [
        {
          xlim: [-0.6, n - 0.4],
          ylim: [0, 1.05],
          title: "Smoothing moves ε of the target's mass to all C classes",
          ylabel: "probability",
          categories: s.logits.map((_, c) => `class ${c}`),
        },
        {
          xlim: [0, 0.5],
          ylim: [low - 0.1 * span - 0.05, high + 0.1 * span + 0.05],
          title: "A confident model pays more as ε grows",
          xlabel: "smoothing ε",
          ylabel: "cross-entropy",
        },
      ]);
      dist.frame();
      loss.frame();
      const width = 0.27;
      const oneHot = s.logits.map((_, c) => (c === s.target ? 1 : 0));
      const probs = lossmath.crossEntropySteps(s.logits, s.target).probs;
      dist.bars(oneHot, {
        colors: "none",
        width,
        offset: -width,
        edges: oneHot.map(() => color.accuracy),
        edgeWidth: 1,
      });
      dist.bars(v.target_distribution, { colors: color.ce_smoothed, width });
      dist.bars(probs, { colors: color.ce, width, offset: width });
      dist.legend([
        { label: "one-hot target", color: color.accuracy, kind: "outline" },
        { label: "smoothed target", color: color.ce_smoothed, kind: "box" },
        { label: "model's probs", color: color.ce, kind: "box" },
      ]);
      loss.line(epsilons, curve, color.ce_smoothed);
      loss.hline(v.loss_without_smoothing, color.ce, { width: 2 });
      loss.dots([state.epsilon], [v.loss], color.ce_smoothed);
      loss.legend([
        { label: "with smoothing", color: color.ce_smoothed },
        { label: "without smoothing", color: color.ce },
      ]);
    },
  },

  focal_gamma_explorer: {
    size: [960, 360],
    compute(s, state) {
      const alpha = "alpha" in state ? state.alpha : -1;
      const values = {};
      for (const p of s.probes) {
        const point = lossmath.focalPoint(p, state.gamma, alpha);
        values[`factor_at_${p}`] = point.focal / point.ce;
        values[`focal_at_${p}`] = point.focal;
      }
      return values;
    },
    draw(ctx, s, state, v) {
      const { color } = s.style;
      const alpha = "alpha" in state ? state.alpha : -1;
      const grid = linspace(0.01, 0.999, 300);
      const points = grid.map((p) => lossmath.focalPoint(p, state.gamma, alpha));
      const [loss, factor] = panels(ctx, 960, 360, [
        {
          xlim: [0, 1],
          ylim: [0, 4.7],
          title: "Focal loss is near 0 for easy examples",
          xlabel: "p_t, probability of the true label",
          ylabel: "loss",
        },
        {
          xlim: [0, 1],
          ylim: [0, 1.05],
          title: "How much each example still counts",
          xlabel: "p_t, probability of the true label",
          ylabel: alpha < 0 ? "focal / CE = (1 − p_t)^γ" : "focal / CE = α·(1 − p_t)^γ",
        },
      ]);
      loss.frame();
      factor.frame();
      loss.line(grid, points.map((p) => p.ce), color.bce);
      loss.line(grid, points.map((p) => p.focal), color.focal);
      loss.legend([
        { label: "cross-entropy (γ = 0)", color: color.bce },
        { label: "focal loss", color: color.focal },
      ]);
      factor.line(grid, points.map((p) => p.focal / p.ce), color.focal);
      factor.dots(s.probes, s.probes.map((p) => v[`factor_at_${p}`]), color.focal);
      factor.legend([{ label: "focal / CE", color: color.focal }]);
    },
  },
};

// ------------------------------------------------------------------ the view

function decimals(step) {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

function sameState(a, b) {
  return Object.keys(a).every((name) => a[name] === b[name]);
}

/** The numbers for `state`: the closed forms, the kernel's table, or the kernel's own. */
function valuesFor(kind, setup, state, pinned) {
  if (pinned && pinned.state && sameState(pinned.state, state)) return pinned.values;
  if (kind.compute) return kind.compute(setup, state);
  const { slider, min, step, columns } = setup.table;
  const count = columns[Object.keys(columns)[0]].length;
  const index = Math.min(count - 1, Math.max(0, Math.round((state[slider] - min) / step)));
  return Object.fromEntries(Object.entries(columns).map(([name, column]) => [name, column[index]]));
}

/** Print `values` into `numbers` as `<code>name = value</code>` entries, touching only what changed. */
function showValues(numbers, values) {
  const entries = Object.entries(values);
  if (numbers.children.length !== entries.length) {
    numbers.replaceChildren(
      ...entries.flatMap(() => [document.createElement("code"), document.createTextNode("\u2003")]),
    );
  }
  entries.forEach(([name, value], i) => {
    const text = `${name} = ${lossmath.formatNumber(value)}`;
    const code = numbers.children[i];
    if (code.textContent !== text) code.textContent = text;
  });
}

function render({ model, el }) {
  const kindName = model.get("kind");
  const kind = KINDS[kindName];
  const setup = model.get("setup");
  const specs = model.get("sliders");
  let state = { ...model.get("state") };

  const root = document.createElement("div");
  root.className = "lossbook-widget";
  const heading = document.createElement("div");
  heading.className = "lossbook-title";
  heading.textContent = model.get("title");
  root.append(heading);

  const inputs = {};
  const readouts = {};

  // The kernel hears of the sliders once per frame, after the frame: drawing comes
  // first, and steps that share a frame share a message. Every model.set is followed
  // by save_changes, so the kernel's echo of an older step never rolls a drag back.
  let sendPending = false;
  function sendToKernel() {
    if (sendPending) return;
    sendPending = true;
    requestAnimationFrame(() =>
      setTimeout(() => {
        sendPending = false;
        model.set("state", state);
        model.save_changes();
      }, 0),
    );
  }
  for (const spec of specs) {
    const row = document.createElement("div");
    row.className = `lossbook-slider lossbook-slider-${spec.name}`;
    const label = document.createElement("label");
    label.textContent = spec.description || spec.name;
    const input = document.createElement("input");
    Object.assign(input, { type: "range", min: spec.min, max: spec.max, step: spec.step });
    input.value = state[spec.name];
    // Without it JupyterLab takes the arrow keys for its own shortcuts.
    input.setAttribute("data-lm-suppress-shortcuts", "true");
    input.setAttribute("aria-label", spec.description || spec.name);
    label.htmlFor = input.id = `lossbook-${kindName}-${spec.name}-${Math.random().toString(36).slice(2)}`;
    const readout = document.createElement("output");
    readout.className = "lossbook-readout";
    input.addEventListener("input", () => {
      state = { ...state, [spec.name]: input.valueAsNumber };
      draw();
      sendToKernel();
    });
    row.append(label, input, readout);
    root.append(row);
    inputs[spec.name] = input;
    readouts[spec.name] = readout;
  }

  const [width, height] = kind.size;
  const canvas = document.createElement("canvas");
  canvas.className = "lossbook-plot";
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  canvas.style.width = `${width}px`;
  canvas.setAttribute("role", "img");
  canvas.setAttribute("aria-label", model.get("alt"));
  const numbers = document.createElement("div");
  numbers.className = "lossbook-values";
  root.append(canvas, numbers);
  el.append(root);
  const ctx = canvas.getContext("2d");

  function draw() {
    const started = performance.now();
    const values = valuesFor(kind, setup, state, model.get("pinned"));
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, width, height);
    kind.draw(ctx, setup, state, values);
    for (const spec of specs) {
      const text = state[spec.name].toFixed(decimals(spec.step));
      if (readouts[spec.name].textContent !== text) readouts[spec.name].textContent = text;
    }
    showValues(numbers, { ...state, ...values });
    const ms = performance.now() - started;
    root.dispatchEvent(new CustomEvent("lossbook:drawn", { detail: { state: { ...state }, ms } }));
  }

  // The kernel moved the sliders (widget.set(...)); our own steps come back equal.
  function onKernelState() {
    const incoming = model.get("state");
    if (!sameState(incoming, state)) {
      state = { ...incoming };
      for (const spec of specs) inputs[spec.name].value = state[spec.name];
      draw();
    }
  }

  model.on("change:state", onKernelState);
  model.on("change:pinned", draw);
  draw();
  return () => {
    model.off("change:state", onKernelState);
    model.off("change:pinned", draw);
  };
}

export default { render };
