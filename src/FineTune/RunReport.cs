using System.Globalization;
using System.Net;
using System.Text;
using FineTuning.Charts;
using FineTuning.Evaluation;

namespace FineTuning.FineTune;

/// <summary>What <see cref="RunReport"/> shows.</summary>
/// <param name="Title">the run, e.g. "mrpc — bert-base-uncased".</param>
/// <param name="Settings">name → value lines of the settings (model, data, key training arguments).</param>
/// <param name="Results">split ("train", "eval") → the metrics run_glue saved.</param>
/// <param name="LogHistory">the Trainer's log history (loss, learning_rate, eval_* entries with step and epoch).</param>
/// <param name="LastEvaluation">the final evaluation's predictions and labels, for the confusion matrix.</param>
/// <param name="LabelNames">class names by id; empty for regression.</param>
internal sealed record ReportData(string Title, IReadOnlyList<(string Name, string Value)> Settings,
    IReadOnlyList<(string Split, IReadOnlyDictionary<string, double> Metrics)> Results,
    IReadOnlyList<IReadOnlyDictionary<string, double>> LogHistory, EvalPrediction? LastEvaluation, IReadOnlyList<string> LabelNames)
{
    /// <summary>Every optimizer step of this run (loss, learning rate): the report's curves, whatever logging_steps is.</summary>
    public IReadOnlyList<StepRecord> Steps { get; init; } = [];
}

/// <summary>
/// <c>report.html</c>: one self-contained page (plotly.js inlined once, no CDN, so it opens offline and can be mailed)
/// with the run's settings and results, and charts (FineTuning.Charts, the same as the lessons') of the training loss
/// and the learning rate at every step, the evaluation metrics per epoch, and the confusion matrix of the last
/// evaluation (or predicted vs true scores for regression); every chart has a legend.
/// </summary>
internal static class RunReport
{
    public const string FileName = "report.html";

    public static string Html(ReportData data)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>")
          .Append(E(data.Title)).Append("</title>\n<style>")
          .Append("body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:960px;color:#222}")
          .Append("table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}")
          .Append("td.n{text-align:right;font-variant-numeric:tabular-nums}h2{margin-top:1.6em}.muted{color:#777}")
          .Append("</style>\n").Append(PlotlyJs.Script).Append("</head><body>\n");
        sb.Append("<h1>").Append(E(data.Title)).Append("</h1>\n");
        sb.Append("<p class=\"muted\">Written by finetune on ").Append(E(DateTime.Now.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)))
          .Append(". Charts: plotly.js, included in this file.</p>\n");

        sb.Append("<h2>Settings</h2>\n<table>");
        foreach (var (name, value) in data.Settings)
            sb.Append("<tr><th>").Append(E(name)).Append("</th><td>").Append(E(value)).Append("</td></tr>");
        sb.Append("</table>\n");

        foreach (var (split, metrics) in data.Results)
        {
            sb.Append("<h2>").Append(E(split)).Append(" results</h2>\n<table>");
            foreach (var (k, v) in metrics.OrderBy(m => m.Key, StringComparer.Ordinal))
                sb.Append("<tr><th>").Append(E(k)).Append("</th><td class=\"n\">").Append(E(MetricsFiles.Format(k, v))).Append("</td></tr>");
            sb.Append("</table>\n");
        }

        var train = data.LogHistory.Where(l => l.ContainsKey("loss")).ToList();
        // One evaluation per step: the final --do_eval of a trained model repeats the last one of training.
        var evals = data.LogHistory.Where(l => l.Keys.Any(k => k.StartsWith("eval_", StringComparison.Ordinal)))
            .GroupBy(l => l.TryGetValue("step", out var s) ? s : double.NaN).Select(g => g.Last()).ToList();
        var evalLoss = evals.Where(e => e.ContainsKey("eval_loss") && e.ContainsKey("step")).ToList();
        if (data.Steps.Count > 0 || train.Count > 0 || evalLoss.Count > 0)
        {
            // Every step of this run (StepRecorder), the logged means (HF's log history: every logging_steps, and the
            // steps before a resume) and the validation loss.
            var lossCharts = new List<Figure>();
            if (data.Steps.Count > 0)
                lossCharts.Add(Chart.Line(data.Steps.Select(s => (double)s.Step), data.Steps.Select(s => s.Loss), "training loss (each step)", markers: data.Steps.Count <= 50));
            if (train.Count > 0)
                lossCharts.Add(Chart.Point(train.Select(e => At(e, "step")), train.Select(e => e["loss"]),
                    data.Steps.Count > 0 ? "training loss (logged: mean since the last log)" : "training loss"));
            if (evalLoss.Count > 0) lossCharts.Add(Line(evalLoss, "step", "eval_loss", "validation loss"));
            Section(sb, "Loss", Chart.Combine(lossCharts), "step", "loss");
        }
        var loggedLr = train.Where(l => l.ContainsKey("learning_rate")).ToList();
        if (data.Steps.Count > 0)
            Section(sb, "Learning rate", Chart.Line(data.Steps.Select(s => (double)s.Step), data.Steps.Select(s => s.LearningRate), "learning rate (after each step)",
                markers: data.Steps.Count <= 50), "step", "learning rate");
        else if (loggedLr.Count > 0)
            Section(sb, "Learning rate", Line(loggedLr, "step", "learning_rate", "learning rate"), "step", "learning rate");

        var perEpoch = evals.Where(e => e.ContainsKey("epoch")).ToList();
        var quality = perEpoch.SelectMany(e => e.Keys).Where(k => k.StartsWith("eval_", StringComparison.Ordinal) && IsQuality(k)).Distinct().ToList();
        if (perEpoch.Count > 0 && quality.Count > 0)
            Section(sb, "Evaluation metrics per epoch",
                Chart.Combine(quality.Select(k => Line(perEpoch.Where(e => e.ContainsKey(k)).ToList(), "epoch", k, k["eval_".Length..]))),
                "epoch", "metric");

        if (data.LastEvaluation is { } p && p.Count > 0)
        {
            if (data.LabelNames.Count > 0 && p.NumLabels == data.LabelNames.Count) ConfusionMatrix(sb, p, data.LabelNames);
            else if (p.NumLabels == 1) ScoresScatter(sb, p);
        }
        sb.Append("</body></html>\n");
        return sb.ToString();
    }

    /// <summary>Metrics to chart: not the loss (its own chart) nor timings, counts or the epoch.</summary>
    static bool IsQuality(string key) => key != "eval_loss" && !key.EndsWith("_runtime", StringComparison.Ordinal)
        && !key.EndsWith("_per_second", StringComparison.Ordinal) && !key.EndsWith("_samples", StringComparison.Ordinal);

    static Figure Line(IReadOnlyList<IReadOnlyDictionary<string, double>> entries, string x, string y, string name) =>
        Chart.Line(entries.Select(e => At(e, x)), entries.Select(e => e[y]), name, markers: entries.Count <= 50);

    static double At(IReadOnlyDictionary<string, double> entry, string key) => entry.TryGetValue(key, out var v) ? v : double.NaN;

    static void ConfusionMatrix(StringBuilder sb, EvalPrediction p, IReadOnlyList<string> names)
    {
        int n = names.Count;
        var counts = new int[n][];
        for (int i = 0; i < n; i++) counts[i] = new int[n];
        var predicted = p.ArgMax();
        var labels = p.Labels();
        for (int i = 0; i < labels.Length; i++)
            if (labels[i] >= 0 && labels[i] < n) counts[labels[i]][predicted[i]]++;
        // Rows: true labels (top to bottom as listed); columns: predictions.
        var chart = Chart.Heatmap(counts.Select(row => (IReadOnlyList<double>)row.Select(c => (double)c).ToArray()).ToArray(), names, names, "examples")
            .WithXAxis("predicted").WithYAxis("true");
        sb.Append("<h2>Confusion matrix (last evaluation)</h2>\n");
        sb.Append(chart.WithSize(Math.Max(420, 120 + 90 * n), Math.Max(380, 100 + 80 * n)).ToHtml());
        sb.Append("<table><tr><th>true \\ predicted</th>");
        foreach (var name in names) sb.Append("<th>").Append(E(name)).Append("</th>");
        sb.Append("</tr>");
        for (int i = 0; i < n; i++)
        {
            sb.Append("<tr><th>").Append(E(names[i])).Append("</th>");
            foreach (var c in counts[i]) sb.Append("<td class=\"n\">").Append(c).Append("</td>");
            sb.Append("</tr>");
        }
        sb.Append("</table>\n");
    }

    static void ScoresScatter(StringBuilder sb, EvalPrediction p)
    {
        Section(sb, "Predicted vs true score (last evaluation)", Chart.Point(p.LabelIds!, p.Scores(), "examples"), "true", "predicted");
    }

    static void Section(StringBuilder sb, string title, Figure chart, string xTitle, string yTitle)
    {
        sb.Append("<h2>").Append(E(title)).Append("</h2>\n");
        sb.Append(chart.WithXAxis(xTitle).WithYAxis(yTitle).WithSize(900, 420).ToHtml());
    }

    static string E(string s) => WebUtility.HtmlEncode(s);
}
