using System.Text.Json.Nodes;

namespace FineTuning.Charts;

/// <summary>
/// Makes <see cref="Figure"/>s: one trace each (lines, points, columns, a heatmap), combined on shared axes
/// (<see cref="Combine"/>) or side by side (<see cref="Grid"/>). The names follow Plotly.NET's, which the lessons
/// used before (README, "Charts in the kernel"); the result is plotly.js's JSON.
/// </summary>
public static class Chart
{
    /// <summary>A line through (x, y) (plotly.js scatter, mode lines); <paramref name="markers"/> adds the points.</summary>
    public static Figure Line(IEnumerable<double> x, IEnumerable<double> y, string name, bool markers = false) =>
        Scatter(x, y, name, markers ? "lines+markers" : "lines");

    /// <summary>A line through (x, y) with integer x (steps).</summary>
    public static Figure Line(IEnumerable<int> x, IEnumerable<double> y, string name, bool markers = false) =>
        Line(x.Select(v => (double)v), y, name, markers);

    /// <summary>Points at (x, y) (plotly.js scatter, mode markers).</summary>
    public static Figure Point(IEnumerable<double> x, IEnumerable<double> y, string name) => Scatter(x, y, name, "markers");

    /// <summary>Vertical bars, one per key (plotly.js bar). Several column figures combined are grouped side by side.</summary>
    public static Figure Column(IEnumerable<string> keys, IEnumerable<double> values, string name)
    {
        var k = keys.ToArray();
        var v = values.ToArray();
        if (k.Length != v.Length) throw new ArgumentException($"Column '{name}': {k.Length} keys but {v.Length} values");
        return new Figure([new JsonObject
        {
            ["type"] = "bar",
            ["name"] = name,
            ["x"] = new JsonArray(k.Select(s => (JsonNode)JsonValue.Create(s)!).ToArray()),
            ["y"] = Numbers(v),
        }]);
    }

    /// <summary>
    /// A heatmap of <paramref name="z"/> (rows × columns): row i is labelled <paramref name="y"/>[i], column j
    /// <paramref name="x"/>[j]; the first row is drawn at the top (as a matrix is read) and each cell shows its value.
    /// </summary>
    public static Figure Heatmap(IReadOnlyList<IReadOnlyList<double>> z, IReadOnlyList<string> x, IReadOnlyList<string> y, string name = "")
    {
        if (z.Count != y.Count) throw new ArgumentException($"Heatmap: {z.Count} rows but {y.Count} row labels");
        for (var i = 0; i < z.Count; i++)
            if (z[i].Count != x.Count) throw new ArgumentException($"Heatmap: row {i} has {z[i].Count} values but there are {x.Count} column labels");
        var trace = new JsonObject
        {
            ["type"] = "heatmap",
            ["z"] = new JsonArray(z.Select(row => (JsonNode)Numbers(row)).ToArray()),
            ["x"] = new JsonArray(x.Select(s => (JsonNode)JsonValue.Create(s)!).ToArray()),
            ["y"] = new JsonArray(y.Select(s => (JsonNode)JsonValue.Create(s)!).ToArray()),
            ["texttemplate"] = "%{z}",
            ["colorscale"] = "Blues",
        };
        if (name.Length > 0) trace["name"] = name;
        var layout = new JsonObject { ["showlegend"] = true, ["yaxis"] = new JsonObject { ["autorange"] = "reversed" } };
        return new Figure([trace], layout);
    }

    /// <summary>A heatmap of integer counts (a confusion matrix).</summary>
    public static Figure Heatmap(int[,] z, IReadOnlyList<string> x, IReadOnlyList<string> y, string name = "") =>
        Heatmap(Enumerable.Range(0, z.GetLength(0)).Select(i => (IReadOnlyList<double>)Enumerable.Range(0, z.GetLength(1)).Select(j => (double)z[i, j]).ToArray()).ToArray(),
            x, y, name);

    /// <summary>The traces of every figure on one pair of axes; the layout is the first figure's.</summary>
    public static Figure Combine(IEnumerable<Figure> figures)
    {
        var list = figures.ToList();
        if (list.Count == 0) throw new ArgumentException("Combine needs at least one figure");
        return new Figure(list.SelectMany(f => f.Data.Select(t => (JsonObject)t!)), list[0].Layout);
    }

    /// <summary>
    /// Figures side by side: a <paramref name="rows"/> × <paramref name="columns"/> grid (plotly.js layout.grid), each
    /// on its own axes, with its own axis titles and scale; one legend for all.
    /// </summary>
    public static Figure Grid(IEnumerable<Figure> figures, int rows, int columns)
    {
        var list = figures.ToList();
        if (list.Count == 0 || list.Count > rows * columns)
            throw new ArgumentException($"Grid of {rows} x {columns}: cannot hold {list.Count} figures");
        var traces = new List<JsonObject>();
        var layout = new JsonObject
        {
            ["showlegend"] = true,
            ["grid"] = new JsonObject { ["rows"] = rows, ["columns"] = columns, ["pattern"] = "independent" },
        };
        for (var i = 0; i < list.Count; i++)
        {
            var suffix = i == 0 ? "" : (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
            foreach (var t in list[i].Data.Select(t => (JsonObject)t!))
            {
                t["xaxis"] = "x" + suffix;
                t["yaxis"] = "y" + suffix;
                traces.Add(t);
            }
            var sub = list[i].Layout;
            if (sub["xaxis"] is JsonObject xaxis) layout["xaxis" + suffix] = xaxis.DeepClone();
            if (sub["yaxis"] is JsonObject yaxis) layout["yaxis" + suffix] = yaxis.DeepClone();
        }
        return new Figure(traces, layout);
    }

    static Figure Scatter(IEnumerable<double> x, IEnumerable<double> y, string name, string mode)
    {
        var xs = x.ToArray();
        var ys = y.ToArray();
        if (xs.Length != ys.Length) throw new ArgumentException($"'{name}': {xs.Length} x values but {ys.Length} y values");
        return new Figure([new JsonObject
        {
            ["type"] = "scatter",
            ["mode"] = mode,
            ["name"] = name,
            ["x"] = Numbers(xs),
            ["y"] = Numbers(ys),
        }]);
    }

    static JsonArray Numbers(IEnumerable<double> values) => new(values.Select(Figure.Number).ToArray());
}
