using System.Globalization;
using System.Text;

namespace FineTuning.FineTune;

/// <summary>
/// The metric files and tables run_glue.py writes through HF's <c>Trainer</c>: <c>save_metrics</c>
/// (<c>{split}_results.json</c> and the merged <c>all_results.json</c>, <c>json.dump(indent=4, sort_keys=True)</c>),
/// <c>log_metrics</c> (the "***** train metrics *****" table) and <c>predict_results_{task}.txt</c>.
/// </summary>
internal static class MetricsFiles
{
    /// <summary>The metrics HF keeps as Python ints (and so writes without ".0").</summary>
    static bool IsInteger(string key) => key.EndsWith("_samples", StringComparison.Ordinal);

    /// <summary>HF <c>save_metrics(split, metrics)</c>: writes <c>{split}_results.json</c>, then merges the metrics into
    /// <c>all_results.json</c> (keeping what earlier runs into the same folder wrote there, as HF does).</summary>
    public static void SaveMetrics(string outputDir, string split, IReadOnlyDictionary<string, double> metrics)
    {
        Directory.CreateDirectory(outputDir);
        AtomicFile.WriteAllText(Path.Combine(outputDir, $"{split}_results.json"), ToJson(metrics));
        var allPath = Path.Combine(outputDir, "all_results.json");
        var all = File.Exists(allPath) ? ReadJson(allPath) : new Dictionary<string, double>();
        foreach (var (k, v) in metrics) all[k] = v;
        AtomicFile.WriteAllText(allPath, ToJson(all));
    }

    /// <summary>Python's <c>json.dumps(metrics, indent=4, sort_keys=True)</c> (no trailing newline, as json.dump).</summary>
    public static string ToJson(IReadOnlyDictionary<string, double> metrics)
    {
        if (metrics.Count == 0) return "{}";
        var sb = new StringBuilder("{");
        bool first = true;
        foreach (var (key, value) in metrics.OrderBy(m => m.Key, PythonJson.CodePointOrder))
        {
            sb.Append(first ? "\n    " : ",\n    ");
            first = false;
            var w = new PythonJson.Writer();
            w.String(key);
            sb.Append(w).Append(": ");
            sb.Append(IsInteger(key) && value == Math.Floor(value) && Math.Abs(value) < 1e15
                ? ((long)value).ToString(CultureInfo.InvariantCulture)
                : PythonJson.Float(value));
        }
        return sb.Append("\n}").ToString();
    }

    static Dictionary<string, double> ReadJson(string path)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path),
            new System.Text.Json.JsonDocumentOptions { AllowTrailingCommas = true });
        var result = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var p in doc.RootElement.EnumerateObject())
            if (p.Value.ValueKind == System.Text.Json.JsonValueKind.Number) result[p.Name] = p.Value.GetDouble();
            else if (p.Value.ValueKind == System.Text.Json.JsonValueKind.String
                     && double.TryParse(p.Value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var d)) result[p.Name] = d;
        return result;
    }

    /// <summary>
    /// HF <c>log_metrics(split, metrics)</c>: "***** {split} metrics *****", then one "  key = value" line per metric in
    /// sorted order, keys padded to the longest, values right-aligned; runtimes as h:mm:ss.cc, total_flos in GF,
    /// other floats rounded to 4 decimals (HF's <c>metrics_format</c>).
    /// </summary>
    public static string LogMetrics(string split, IReadOnlyDictionary<string, double> metrics)
    {
        var formatted = metrics.OrderBy(m => m.Key, PythonJson.CodePointOrder).Select(m => (m.Key, Value: Format(m.Key, m.Value))).ToList();
        var sb = new StringBuilder().Append("***** ").Append(split).Append(" metrics *****\n");
        if (formatted.Count == 0) return sb.ToString();
        int kw = formatted.Max(f => f.Key.Length), vw = formatted.Max(f => f.Value.Length);
        foreach (var (key, value) in formatted)
            sb.Append("  ").Append(key.PadRight(kw)).Append(" = ").Append(value.PadLeft(vw)).Append('\n');
        return sb.ToString();
    }

    /// <summary>One value as HF's <c>metrics_format</c> shows it.</summary>
    public static string Format(string key, double v)
    {
        if (key.Contains("_runtime", StringComparison.Ordinal))
        {
            // HF's _secs2timedelta: str(timedelta(seconds=int(secs))) + "." + hundredths.
            long whole = (long)v;
            int hundredths = (int)(Math.Abs(v - whole) * 100);
            var t = TimeSpan.FromSeconds(whole);
            var days = t.Days > 0 ? $"{t.Days} day{(t.Days > 1 ? "s" : "")}, " : "";
            return string.Create(CultureInfo.InvariantCulture, $"{days}{t.Hours}:{t.Minutes:00}:{t.Seconds:00}.{hundredths:00}");
        }
        if (key == "total_flos") return ((long)v >> 30).ToString(CultureInfo.InvariantCulture) + "GF";
        if (IsInteger(key) && v == Math.Floor(v)) return ((long)v).ToString(CultureInfo.InvariantCulture);
        return PythonRepr.Float(PythonRepr.Round(v, 4));
    }

    /// <summary>
    /// run_glue's <c>predict_results_{task}.txt</c>: a header "index\tprediction", then one line per example: the
    /// class name for classification, the score as <c>f"{item:3.3f}"</c> for regression.
    /// </summary>
    public static string PredictResults(IReadOnlyList<string> predictions)
    {
        var sb = new StringBuilder("index\tprediction\n");
        for (int i = 0; i < predictions.Count; i++) sb.Append(i.ToString(CultureInfo.InvariantCulture)).Append('\t').Append(OneField(predictions[i])).Append('\n');
        return sb.ToString();
    }

    /// <summary>A regression prediction as Python's <c>f"{x:3.3f}"</c>.</summary>
    public static string Score(double x) => PythonRepr.Fixed(x, 3).PadLeft(3);

    /// <summary>A label as one tab-separated field: a tab or line break in it (a label of your own data may have one) is
    /// written as <c>\t</c>, <c>\n</c>, <c>\r</c>, so every line of the file stays one example.</summary>
    internal static string OneField(string value) =>
        value.AsSpan().IndexOfAny('\t', '\n', '\r') < 0 ? value : value.Replace("\t", "\\t").Replace("\n", "\\n").Replace("\r", "\\r");
}
