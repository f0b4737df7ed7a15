using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FineTuning.Charts;

/// <summary>
/// A plotly.js figure: its traces (<c>data</c>) and <c>layout</c>, as plotly.js's own JSON (the figure format of
/// plotly.py's <c>fig.to_json()</c>), so there is nothing between the lessons and plotly.js to learn or to break.
/// Made with <see cref="Chart"/>; each <c>With…</c> returns a new figure (the original is unchanged).
/// </summary>
/// <remarks>
/// This replaces Plotly.NET, which the real .NET Interactive kernel cannot load (README, "Charts in the kernel").
/// A notebook shows a figure as HTML (a div and a <c>Plotly.newPlot</c> call) through the formatter registered by
/// FineTuning.Interactive; plotly.js itself comes once per notebook (<see cref="PlotlyJs"/>).
/// </remarks>
public sealed class Figure
{
    static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };

    readonly JsonArray data;
    readonly JsonObject layout;

    internal Figure(IEnumerable<JsonObject> traces, JsonObject? layout = null)
    {
        data = new JsonArray(traces.Select(t => (JsonNode)t.DeepClone()).ToArray());
        this.layout = layout is null ? DefaultLayout() : (JsonObject)layout.DeepClone();
    }

    /// <summary>A legend on every chart, also for a single trace (plotly.js hides a one-trace legend by default).</summary>
    static JsonObject DefaultLayout() => new() { ["showlegend"] = true };

    /// <summary>The traces (a copy): plotly.js's <c>data</c> array.</summary>
    public JsonArray Data => (JsonArray)data.DeepClone();

    /// <summary>The layout (a copy): plotly.js's <c>layout</c> object.</summary>
    public JsonObject Layout => (JsonObject)layout.DeepClone();

    /// <summary>Number of traces.</summary>
    public int TraceCount => data.Count;

    /// <summary>The chart's title (layout.title.text).</summary>
    public Figure WithTitle(string title) => WithLayout(l => l["title"] = new JsonObject { ["text"] = title });

    /// <summary>The x axis: its title, and a log scale if <paramref name="log"/>.</summary>
    public Figure WithXAxis(string title, bool log = false) => WithAxis("xaxis", title, log);

    /// <summary>The y axis: its title, and a log scale if <paramref name="log"/>.</summary>
    public Figure WithYAxis(string title, bool log = false) => WithAxis("yaxis", title, log);

    /// <summary>Width and height in pixels.</summary>
    public Figure WithSize(int width, int height)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        return WithLayout(l => { l["width"] = width; l["height"] = height; });
    }

    /// <summary>Shows or hides the legend (shown by default).</summary>
    public Figure WithLegend(bool show) => WithLayout(l => l["showlegend"] = show);

    Figure WithAxis(string axis, string title, bool log) => WithLayout(l =>
    {
        var a = l[axis] as JsonObject ?? new JsonObject();
        l[axis] = a;
        a["title"] = new JsonObject { ["text"] = title };
        if (log) a["type"] = "log";
    });

    Figure WithLayout(Action<JsonObject> change)
    {
        var copy = (JsonObject)layout.DeepClone();
        change(copy);
        return new Figure(data.Select(t => (JsonObject)t!), copy);
    }

    /// <summary>The figure as plotly.js JSON: <c>{"data": [...], "layout": {...}}</c>. System.Text.Json's default
    /// encoder writes &lt;, &gt; and &amp; as \u escapes, so the JSON can sit inside a script element as it is.</summary>
    public string ToJson() => new JsonObject { ["data"] = data.DeepClone(), ["layout"] = layout.DeepClone() }.ToJsonString(Compact);

    /// <summary>
    /// The figure as an HTML fragment: a div and a script that draws it with <c>Plotly.newPlot</c> once plotly.js is
    /// there. <paramref name="includePlotlyJs"/>: put plotly.js itself in front (<see cref="PlotlyJs.Script"/>);
    /// without it the chart is drawn by an earlier plotly.js on the page, also one that arrives later (it queues).
    /// </summary>
    public string ToHtml(bool includePlotlyJs = false)
    {
        var id = "ft-chart-" + Guid.NewGuid().ToString("N");
        var sb = new StringBuilder();
        if (includePlotlyJs) sb.Append(PlotlyJs.Script);
        var width = layout["width"] is JsonValue w ? $"width:{w.GetValue<int>()}px;" : "";
        var height = layout["height"] is JsonValue h ? $"height:{h.GetValue<int>()}px;" : "height:420px;";
        // The note shows where scripts do not run (GitHub's notebook view) or plotly.js is missing; drawing removes it.
        sb.Append("<div class=\"ft-chart\"><div id=\"").Append(id).Append("\" style=\"").Append(width).Append(height).Append("\"></div>")
          .Append("<p id=\"").Append(id).Append("-note\" style=\"color:#777;font-size:small\">")
          .Append(WebUtility.HtmlEncode(Summary()))
          .Append(" (a plotly.js chart: it is drawn where the notebook's scripts run; if it stays empty, run the cell again)</p></div>\n")
          .Append("<script type=\"text/javascript\">(function () {\n")
          .Append("var figure = ").Append(ToJson()).Append(";\n")
          .Append("function draw() { var note = document.getElementById('").Append(id).Append("-note'); if (note) note.remove(); ")
          .Append("Plotly.newPlot('").Append(id).Append("', figure.data, figure.layout, {responsive: true}); }\n")
          .Append("if (typeof window.Plotly !== 'undefined') draw(); else (window.").Append(PlotlyJs.QueueName)
          .Append(" = window.").Append(PlotlyJs.QueueName).Append(" || []).push(draw);\n")
          .Append("})();</script>\n");
        return sb.ToString();
    }

    /// <summary>One line: the title and each trace's type, name and size.</summary>
    public string Summary()
    {
        var title = layout["title"]?["text"]?.GetValue<string>();
        var traces = data.Select(t =>
        {
            var type = t!["type"]?.GetValue<string>() ?? "scatter";
            var name = t["name"]?.GetValue<string>();
            var points = (t["y"] as JsonArray)?.Count ?? (t["z"] as JsonArray)?.Count ?? 0;
            return name is null ? $"{type} ({points})" : $"{name}: {type} ({points})";
        });
        return (title is null ? "Figure" : $"Figure \"{title}\"") + ": " + string.Join(", ", traces);
    }

    /// <summary>The summary line (what a terminal shows).</summary>
    public override string ToString() => Summary();

    internal static JsonNode? Number(double value) =>
        double.IsFinite(value) ? JsonValue.Create(value) : null;   // plotly.js draws null as a gap; NaN is not JSON
}
