using System.Collections;
using System.Globalization;
using System.Net;
using System.Reflection;
using System.Text;
using FineTuning.Charts;
using FineTuning.Display;

namespace FineTuning.NotebookRunner;

/// <summary>A value rendered for a notebook: content by MIME type, in the order written.</summary>
/// <param name="Data">MIME type → content (text/plain, text/html).</param>
/// <param name="ExportHtml">What the HTML export shows instead of Data's text/html (a chart without its own copy of
/// plotly.js, which the export page carries once); null to use Data.</param>
public sealed record FormattedValue(IReadOnlyDictionary<string, string> Data, string? ExportHtml = null)
{
    public string? PlainText => Data.GetValueOrDefault("text/plain");
    public string? Html => Data.GetValueOrDefault("text/html");
}

/// <summary>
/// Renders values as the Polyglot kernel shows them: strings and numbers as text; <c>HTML(...)</c> as HTML; the
/// library's charts (FineTuning.Charts) as a self-contained HTML chart (plotly.js embedded, no CDN) and its other
/// objects as FineTuning.Interactive registers them in the kernel (FineTuning.Display.Repr); dictionaries and
/// sequences as a table (with a text form for tests and terminals); anything else by its ToString().
/// </summary>
public static class OutputFormatter
{
    const int MaxItems = 20;

    /// <summary>A script that defines <c>window.Plotly</c> from the library's plotly.js unless it is defined, then
    /// draws the charts that waited for it (<see cref="PlotlyJs.Script"/>).</summary>
    public static string PlotlyScript => PlotlyJs.Script;

    /// <summary>Formats <paramref name="value"/>; <paramref name="mimeTypes"/> (as the kernel's display) keeps only those types.</summary>
    public static FormattedValue Format(object? value, IReadOnlyCollection<string>? mimeTypes = null)
    {
        FormattedValue formatted;
        try
        {
            formatted = FormatAll(value);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A value whose enumeration or ToString throws is shown as the kernel shows it: with the error.
            formatted = Text($"{value?.GetType().FullName}: cannot be displayed ({e.GetType().Name}: {e.Message})");
        }
        if (mimeTypes is { Count: > 0 })
        {
            var kept = formatted.Data.Where(kv => mimeTypes.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value);
            if (kept.Count == 0) kept[mimeTypes.First()] = formatted.PlainText ?? formatted.Html ?? "";
            formatted = formatted with { Data = kept };
        }
        return formatted;
    }

    static FormattedValue FormatAll(object? value)
    {
        switch (value)
        {
            case null:
                return Text("<null>");
            case HtmlString html:
                return new FormattedValue(new Dictionary<string, string> { ["text/html"] = html.Value });
            case Figure chart:
                // As in the kernel: the notebook's first chart carries plotly.js (the executor resets per notebook); the
                // export page carries it once in its head, so there each chart is the bare fragment.
                return new FormattedValue(new Dictionary<string, string> { ["text/html"] = PlotlyJs.NotebookHtml(chart), ["text/plain"] = chart.Summary() },
                    ExportHtml: chart.ToHtml());
            case not null when Repr.Html(value) is { } html:
                return Both(Repr.PlainText(value) ?? "", html);
            case string s:
                return Text(s);
            default:
                if (IsScalar(value)) return Text(Scalar(value));
                if (AsPairs(value) is { } pairs)
                    return Both(
                        "{ " + string.Join(", ", pairs.Take(MaxItems).Select(p => $"{Scalar(p.Key)}: {Scalar(p.Value)}")) + (pairs.Count > MaxItems ? ", ..." : "") + " }",
                        Table(["key", "value"], pairs.Select(p => new[] { p.Key, p.Value }), pairs.Count));
                if (value is IEnumerable sequence)
                {
                    var items = sequence.Cast<object?>().Take(MaxItems + 1).ToList();
                    var more = items.Count > MaxItems;
                    if (more) items.RemoveAt(MaxItems);
                    return Both(
                        "[ " + string.Join(", ", items.Select(Scalar)) + (more ? ", ..." : "") + " ]",
                        Table(["index", "value"], items.Select((v, i) => new[] { (object?)i, v }), more ? -1 : items.Count));
                }
                return Text(value.ToString() ?? "");
        }
    }

    static FormattedValue Text(string text) => new(new Dictionary<string, string> { ["text/plain"] = text });

    static FormattedValue Both(string text, string html) =>
        new(new Dictionary<string, string> { ["text/html"] = html, ["text/plain"] = text });

    static bool IsScalar(object value) => value is bool or char or Enum || value.GetType().IsPrimitive || value is decimal or IFormattable;

    static string Scalar(object? value) => value switch
    {
        null => "<null>",
        string s => s,
        bool b => b ? "True" : "False",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>The entries of a dictionary (generic or not, read-only or not), or null.</summary>
    static List<(object? Key, object? Value)>? AsPairs(object value)
    {
        if (value is IDictionary dictionary)
        {
            var entries = new List<(object?, object?)>();
            for (var e = dictionary.GetEnumerator(); e.MoveNext();) entries.Add((e.Key, e.Value));
            return entries;
        }
        var pairType = value.GetType().GetInterfaces()
            .Where(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))
            .Select(i => i.GetGenericArguments()[0])
            .FirstOrDefault(t => t.IsGenericType && t.GetGenericTypeDefinition() == typeof(KeyValuePair<,>));
        if (pairType is null) return null;
        PropertyInfo key = pairType.GetProperty("Key")!, val = pairType.GetProperty("Value")!;
        return ((IEnumerable)value).Cast<object>().Select(p => (key.GetValue(p), val.GetValue(p))).ToList();
    }

    static string Table(string[] header, IEnumerable<object?[]> rows, int count)
    {
        var html = new StringBuilder("<table><thead><tr>");
        foreach (var h in header) html.Append("<th>").Append(WebUtility.HtmlEncode(h)).Append("</th>");
        html.Append("</tr></thead><tbody>");
        var shown = 0;
        foreach (var row in rows.Take(MaxItems))
        {
            html.Append("<tr>");
            foreach (var cell in row) html.Append("<td>").Append(WebUtility.HtmlEncode(Scalar(cell))).Append("</td>");
            html.Append("</tr>");
            shown++;
        }
        if (count < 0 || count > shown) html.Append($"<tr><td colspan=\"{header.Length}\">… (more)</td></tr>");
        return html.Append("</tbody></table>").ToString();
    }
}
