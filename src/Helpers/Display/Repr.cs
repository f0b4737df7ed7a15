using System.Collections;
using System.Globalization;
using System.Net;
using System.Text;
using FineTuning.Charts;
using FineTuning.Data;
using FineTuning.Models;
using FineTuning.Tokenizers;
using FineTuning.Training;
using Encoding = FineTuning.Tokenizers.Encoding;

namespace FineTuning.Display;

/// <summary>
/// How the library's objects show themselves in a notebook: HTML (Python's <c>_repr_html_</c>, what the kernel draws) and
/// plain text (<c>__repr__</c>, what a terminal or a text-only viewer shows), like HF's objects in Jupyter. Pure functions of the object, so
/// the library needs no kernel; FineTuning.Interactive registers them with the kernel's formatter
/// (<c>FineTuning.Interactive.Formatters.Register()</c>, called by the lessons' setup.dib).
/// </summary>
public static class Repr
{
    /// <summary>Rows of a dataset shown (HF's notebook display of a dataset shows its first rows).</summary>
    public const int Rows = 5;

    /// <summary>Examples of a <see cref="BatchEncoding"/> shown.</summary>
    public const int Examples = 3;

    /// <summary>The types shown by this class (what FineTuning.Interactive registers); the most specific first.</summary>
    public static IReadOnlyList<Type> Types { get; } =
    [
        typeof(Figure), typeof(Dataset), typeof(DatasetDict), typeof(Encoding), typeof(BatchEncoding), typeof(LoadingReport),
        typeof(List<IReadOnlyDictionary<string, double>>), typeof(TrainOutput), typeof(PredictionOutput),
    ];

    /// <summary>The HTML of <paramref name="value"/>, or null for a type this class does not show. A figure's HTML
    /// follows the once-per-notebook plotly.js rule (<see cref="PlotlyJs.NotebookHtml"/>).</summary>
    public static string? Html(object? value) => value switch
    {
        Figure f => PlotlyJs.NotebookHtml(f),
        Dataset d => DatasetHtml(d),
        DatasetDict d => DatasetDictHtml(d),
        Encoding e => EncodingHtml(e, e.Tokens),
        BatchEncoding b => BatchEncodingHtml(b),
        LoadingReport r => LoadingReportHtml(r),
        List<IReadOnlyDictionary<string, double>> h => LogHistoryHtml(h),
        TrainOutput t => MetricsHtml($"TrainOutput(global_step={t.GlobalStep}, training_loss={PythonRepr.Float(t.TrainingLoss)})", t.Metrics),
        PredictionOutput p => MetricsHtml($"PredictionOutput: predictions of shape ({p.Predictions.GetLength(0)}, {p.Predictions.GetLength(1)})" +
                                          (p.LabelIds is null ? "" : $", {p.LabelIds.Length} label ids"), p.Metrics),
        _ => null,
    };

    /// <summary>The plain text of <paramref name="value"/>, or null for a type this class does not show.</summary>
    public static string? PlainText(object? value) => value switch
    {
        Figure f => f.Summary(),
        Dataset d => d.ToString(),
        DatasetDict d => d.ToString(),
        Encoding e => EncodingText(e.InputIds, e.TokenTypeIds, e.AttentionMask),
        BatchEncoding b => "{" + string.Join(", ", b.Select(kv => $"'{kv.Key}': [" + string.Join(", ", ((List<int[]>)kv.Value).Select(IntList)) + "]")) + "}",
        LoadingReport r => string.Join("\n\n", r.Warnings.Concat(r.Infos).Append($"{r.LoadedKeys.Count} tensors loaded from the checkpoint.")),
        List<IReadOnlyDictionary<string, double>> h => LogHistoryText(h),
        TrainOutput t => $"TrainOutput(global_step={t.GlobalStep}, training_loss={PythonRepr.Float(t.TrainingLoss)}, metrics={PythonRepr.Dict(t.Metrics)})",
        PredictionOutput p => $"PredictionOutput(predictions=array of shape ({p.Predictions.GetLength(0)}, {p.Predictions.GetLength(1)}), " +
                              $"label_ids={(p.LabelIds is null ? "None" : $"array of shape ({p.LabelIds.Length},)")}, metrics={PythonRepr.Dict(p.Metrics)})",
        _ => null,
    };

    static string DatasetHtml(Dataset d) =>
        new StringBuilder().Append("<div class=\"ft-dataset\"><p><b>Dataset</b>: ").Append(d.Count.ToString("N0", CultureInfo.InvariantCulture))
            .Append(" rows (num_rows)</p>").Append(FeaturesTable(d.Features)).Append(RowsTable(d, Rows)).Append("</div>").ToString();

    static string DatasetDictHtml(DatasetDict dict)
    {
        var sb = new StringBuilder("<div class=\"ft-dataset\"><p><b>DatasetDict</b></p><table><thead><tr><th>split</th><th>num_rows</th><th>features</th></tr></thead><tbody>");
        foreach (var (split, d) in dict)
            sb.Append("<tr><td>").Append(E(split)).Append("</td><td style=\"text-align:right\">").Append(d.Count.ToString("N0", CultureInfo.InvariantCulture))
              .Append("</td><td>").Append(E(string.Join(", ", d.ColumnNames))).Append("</td></tr>");
        sb.Append("</tbody></table>");
        if (dict.Values.FirstOrDefault() is { } first)
        {
            var name = dict.Keys.First();
            sb.Append(FeaturesTable(first.Features)).Append("<p>").Append(E(name)).Append(", the first rows:</p>").Append(RowsTable(first, Rows));
        }
        return sb.Append("</div>").ToString();
    }

    static string FeaturesTable(Features features)
    {
        var sb = new StringBuilder("<table><thead><tr><th>feature</th><th>type</th></tr></thead><tbody>");
        foreach (var (name, type) in features)
            sb.Append("<tr><td>").Append(E(name)).Append("</td><td><code>").Append(E(type.ToString()!)).Append("</code></td></tr>");
        return sb.Append("</tbody></table>").ToString();
    }

    /// <summary>The first <paramref name="rows"/> rows; a ClassLabel value also shows its name (1 (equivalent)).</summary>
    static string RowsTable(Dataset d, int rows)
    {
        var sb = new StringBuilder("<table><thead><tr><th></th>");
        foreach (var c in d.ColumnNames) sb.Append("<th>").Append(E(c)).Append("</th>");
        sb.Append("</tr></thead><tbody>");
        var shown = Math.Min(rows, d.Count);
        for (var i = 0; i < shown; i++)
        {
            sb.Append("<tr><th>").Append(i).Append("</th>");
            var row = d[i];
            foreach (var c in d.ColumnNames)
            {
                var v = row[c];
                var text = Cell(v);
                if (d.Features[c] is ClassLabel label && v is long id && id >= 0 && id < label.Names.Count) text += $" ({label.Names[(int)id]})";
                sb.Append("<td>").Append(E(text)).Append("</td>");
            }
            sb.Append("</tr>");
        }
        if (d.Count > shown)
            sb.Append("<tr><td colspan=\"").Append(d.ColumnNames.Count + 1).Append("\">… ")
              .Append((d.Count - shown).ToString("N0", CultureInfo.InvariantCulture)).Append(" more rows</td></tr>");
        return sb.Append("</tbody></table>").ToString();
    }

    static string Cell(object? v) => v switch
    {
        null => "None",
        string s => s.Length > 120 ? s[..117] + "..." : s,
        int[] ints => IntList(ints),
        long[] longs => "[" + string.Join(", ", longs) + "]",
        IList list => "[" + string.Join(", ", list.Cast<object?>().Take(20).Select(Cell)) + (list.Count > 20 ? ", ..." : "") + "]",
        double x => PythonRepr.Float(x),
        float x => PythonRepr.Float(x),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };

    /// <summary>One column per position: the token above its input id, token type id and attention mask.</summary>
    static string EncodingHtml(Encoding e, IReadOnlyList<string>? tokens)
    {
        var sb = new StringBuilder("<table class=\"ft-encoding\"><tbody>");
        if (tokens is not null) Row(sb, "tokens", tokens.Select(t => $"<code>{E(t)}</code>"));
        Row(sb, "input_ids", e.InputIds.Select(i => i.ToString(CultureInfo.InvariantCulture)));
        Row(sb, "token_type_ids", e.TokenTypeIds.Select(i => i.ToString(CultureInfo.InvariantCulture)));
        Row(sb, "attention_mask", e.AttentionMask.Select(i => i.ToString(CultureInfo.InvariantCulture)));
        return sb.Append("</tbody></table>").ToString();

        static void Row(StringBuilder sb, string name, IEnumerable<string> cells)
        {
            sb.Append("<tr><th>").Append(name).Append("</th>");
            foreach (var c in cells) sb.Append("<td>").Append(c).Append("</td>");
            sb.Append("</tr>");
        }
    }

    static string BatchEncodingHtml(BatchEncoding b)
    {
        var sb = new StringBuilder("<div class=\"ft-encoding\"><p><b>BatchEncoding</b>: ").Append(b.Examples).Append(b.Examples == 1 ? " example" : " examples")
            .Append(" (input_ids, token_type_ids, attention_mask)</p>");
        for (var i = 0; i < Math.Min(Examples, b.Examples); i++)
            sb.Append("<p>example ").Append(i).Append(", ").Append(b.InputIds[i].Length).Append(" positions:</p>").Append(EncodingHtml(b[i], b.Tokens(i)));
        if (b.Examples > Examples) sb.Append("<p>… ").Append(b.Examples - Examples).Append(" more examples</p>");
        return sb.Append("</div>").ToString();
    }

    static string EncodingText(int[] ids, int[] types, int[] mask) =>
        $"{{'input_ids': {IntList(ids)}, 'token_type_ids': {IntList(types)}, 'attention_mask': {IntList(mask)}}}";

    static string IntList(int[] values) => "[" + string.Join(", ", values) + "]";

    /// <summary>What the head swap did: each dropped and added weight with its shape, then the count loaded unchanged.</summary>
    static string LoadingReportHtml(LoadingReport r)
    {
        var sb = new StringBuilder("<div class=\"ft-loading\"><p><b>").Append(E(r.ModelClass)).Append("</b> from <code>").Append(E(r.ModelPath))
            .Append("</code></p><table><thead><tr><th></th><th>weight</th><th>shape</th><th>what</th></tr></thead><tbody>");
        string Shape(string key) => r.Shapes.TryGetValue(key, out var s) ? "(" + string.Join(", ", s) + ")" : "";
        foreach (var k in r.UnexpectedKeys.Order(StringComparer.Ordinal))
            sb.Append("<tr><td>dropped</td><td><code>").Append(E(k)).Append("</code></td><td>").Append(Shape(k)).Append("</td><td>in the checkpoint only (its pretraining head)</td></tr>");
        foreach (var k in r.MissingKeys.Order(StringComparer.Ordinal))
            sb.Append("<tr><td>added</td><td><code>").Append(E(k)).Append("</code></td><td>").Append(Shape(k)).Append("</td><td>new, randomly initialised: train it</td></tr>");
        foreach (var m in r.MismatchedKeys)
            sb.Append("<tr><td>re-initialised</td><td><code>").Append(E(m.Key)).Append("</code></td><td>(").Append(string.Join(", ", m.ModelShape))
              .Append(")</td><td>the checkpoint's is (").Append(string.Join(", ", m.CheckpointShape)).Append(")</td></tr>");
        foreach (var (from, to) in r.RenamedKeys.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            sb.Append("<tr><td>renamed</td><td><code>").Append(E(from)).Append("</code></td><td></td><td>loaded as <code>").Append(E(to)).Append("</code></td></tr>");
        sb.Append("</tbody></table><p>").Append(r.LoadedKeys.Count).Append(" tensors were loaded from the checkpoint unchanged");
        if (r.UnexpectedKeys.Count == 0 && r.MissingKeys.Count == 0 && r.MismatchedKeys.Count == 0) sb.Append(": the checkpoint matched the model exactly");
        return sb.Append(".</p></div>").ToString();
    }

    /// <summary>The log history as a table (as pandas shows <c>pd.DataFrame(trainer.state.log_history)</c>): one row per
    /// entry, one column per key, in first-seen order; a key an entry lacks is empty.</summary>
    static string LogHistoryHtml(List<IReadOnlyDictionary<string, double>> history)
    {
        var keys = LogKeys(history);
        var sb = new StringBuilder("<table class=\"ft-log-history\"><thead><tr><th></th>");
        foreach (var k in keys) sb.Append("<th>").Append(E(k)).Append("</th>");
        sb.Append("</tr></thead><tbody>");
        for (var i = 0; i < history.Count; i++)
        {
            sb.Append("<tr><th>").Append(i).Append("</th>");
            foreach (var k in keys)
                sb.Append("<td style=\"text-align:right\">").Append(history[i].TryGetValue(k, out var v) ? E(Number(k, v)) : "").Append("</td>");
            sb.Append("</tr>");
        }
        return sb.Append("</tbody></table>").ToString();
    }

    static string LogHistoryText(List<IReadOnlyDictionary<string, double>> history)
    {
        var keys = LogKeys(history);
        var cells = history.Select(e => keys.Select(k => e.TryGetValue(k, out var v) ? Number(k, v) : "").ToArray()).ToList();
        var widths = keys.Select((k, j) => Math.Max(k.Length, cells.Count == 0 ? 0 : cells.Max(c => c[j].Length))).ToArray();
        var sb = new StringBuilder(string.Join("  ", keys.Select((k, j) => k.PadLeft(widths[j]))));
        foreach (var row in cells) sb.Append('\n').Append(string.Join("  ", row.Select((c, j) => c.PadLeft(widths[j]))));
        return sb.ToString();
    }

    static List<string> LogKeys(List<IReadOnlyDictionary<string, double>> history)
    {
        var keys = new List<string>();
        foreach (var e in history)
            foreach (var k in e.Keys)
                if (!keys.Contains(k)) keys.Add(k);
        // Step and epoch first, as the Trainer's progress table reads.
        return keys.OrderBy(k => k switch { "step" => 0, "epoch" => 1, _ => 2 }).ToList();
    }

    static string Number(string key, double v) => key == "step" ? v.ToString("0", CultureInfo.InvariantCulture) : PythonRepr.Float(v);

    static string MetricsHtml(string caption, IReadOnlyDictionary<string, double> metrics)
    {
        var sb = new StringBuilder("<div class=\"ft-metrics\"><p>").Append(E(caption)).Append("</p><table><thead><tr>");
        foreach (var k in metrics.Keys) sb.Append("<th>").Append(E(k)).Append("</th>");
        sb.Append("</tr></thead><tbody><tr>");
        foreach (var (k, v) in metrics) sb.Append("<td style=\"text-align:right\">").Append(E(Number(k, v))).Append("</td>");
        return sb.Append("</tr></tbody></table></div>").ToString();
    }

    static string E(string s) => WebUtility.HtmlEncode(s);
}
