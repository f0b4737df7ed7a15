using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FineTuning.Charts;

namespace FineTuning.Tests.Charts;

/// <summary>The figure JSON the charts write is plotly.js's own: traces, axis titles, the legend.</summary>
public class FigureTests
{
    static JsonObject Parse(Figure f) => JsonNode.Parse(f.ToJson())!.AsObject();

    [Fact]
    public void A_line_is_a_scatter_trace_with_its_points_and_name()
    {
        var json = Parse(Chart.Line(new double[] { 1, 2, 3 }, new[] { 0.5, 0.25, double.NaN }, "training loss", markers: true));
        var trace = json["data"]!.AsArray().Single()!.AsObject();
        Assert.Equal("scatter", (string?)trace["type"]);
        Assert.Equal("lines+markers", (string?)trace["mode"]);
        Assert.Equal("training loss", (string?)trace["name"]);
        Assert.Equal([1.0, 2.0, 3.0], trace["x"]!.AsArray().Select(v => (double)v!));
        Assert.Equal(0.25, (double)trace["y"]![1]!);
        Assert.Null(trace["y"]![2]);                 // NaN is not JSON: a gap (null) in plotly.js
        Assert.Equal("lines", (string?)Parse(Chart.Line(new[] { 1 }, new[] { 1.0 }, "x"))["data"]![0]!["mode"]);
    }

    [Fact]
    public void Every_figure_has_a_legend_even_with_one_trace()
    {
        Assert.True((bool)Parse(Chart.Column(["a"], [1.0], "n"))["layout"]!["showlegend"]!);
        Assert.True((bool)Parse(Chart.Grid([Chart.Column(["a"], [1.0], "n")], 1, 1))["layout"]!["showlegend"]!);
        Assert.False((bool)Parse(Chart.Column(["a"], [1.0], "n").WithLegend(false))["layout"]!["showlegend"]!);
    }

    [Fact]
    public void Axis_titles_log_scale_title_and_size_go_into_the_layout()
    {
        var f = Chart.Line(new double[] { 1, 2 }, new double[] { 3, 4 }, "lr")
            .WithXAxis("optimizer step").WithYAxis("learning rate", log: true).WithTitle("Schedule").WithSize(800, 400);
        var layout = Parse(f)["layout"]!;
        Assert.Equal("optimizer step", (string?)layout["xaxis"]!["title"]!["text"]);
        Assert.Equal("learning rate", (string?)layout["yaxis"]!["title"]!["text"]);
        Assert.Equal("log", (string?)layout["yaxis"]!["type"]);
        Assert.Null(layout["xaxis"]!["type"]);
        Assert.Equal("Schedule", (string?)layout["title"]!["text"]);
        Assert.Equal(800, (int)layout["width"]!);
        Assert.Equal(400, (int)layout["height"]!);
    }

    [Fact]
    public void With_returns_a_new_figure_and_leaves_the_original()
    {
        var f = Chart.Column(["a", "b"], [1.0, 2.0], "n");
        _ = f.WithXAxis("split");
        Assert.Null(Parse(f)["layout"]!["xaxis"]);
    }

    [Fact]
    public void Combine_keeps_every_trace_on_one_pair_of_axes()
    {
        var f = Chart.Combine([Chart.Column(["train", "validation"], [30.0, 32.0], "not_equivalent"), Chart.Column(["train", "validation"], [70.0, 68.0], "equivalent")]);
        var data = Parse(f)["data"]!.AsArray();
        Assert.Equal(["not_equivalent", "equivalent"], data.Select(t => (string?)t!["name"]));
        Assert.All(data, t => Assert.Equal("bar", (string?)t!["type"]));
        Assert.All(data, t => Assert.Null(t!["xaxis"]));
        Assert.Equal(["train", "validation"], data[0]!["x"]!.AsArray().Select(v => (string?)v));
    }

    [Fact]
    public void Grid_puts_each_figure_on_its_own_axes_with_its_titles()
    {
        var f = Chart.Grid([
            Chart.Column(["full", "LoRA"], [800.0, 2.0], "AdamW state (MB)").WithYAxis("MB", log: true),
            Chart.Combine([Chart.Column(["full", "LoRA"], [0.8, 0.7], "accuracy"), Chart.Column(["full", "LoRA"], [0.85, 0.8], "F1")]).WithYAxis("on the validation pairs"),
        ], 1, 2);
        var json = Parse(f);
        var data = json["data"]!.AsArray();
        Assert.Equal(["x", "x2", "x2"], data.Select(t => (string?)t!["xaxis"]));
        Assert.Equal(["y", "y2", "y2"], data.Select(t => (string?)t!["yaxis"]));
        var layout = json["layout"]!;
        Assert.Equal(1, (int)layout["grid"]!["rows"]!);
        Assert.Equal(2, (int)layout["grid"]!["columns"]!);
        Assert.Equal("log", (string?)layout["yaxis"]!["type"]);
        Assert.Equal("on the validation pairs", (string?)layout["yaxis2"]!["title"]!["text"]);
    }

    [Fact]
    public void A_heatmap_is_drawn_with_its_first_row_on_top_and_labels()
    {
        var f = Chart.Heatmap(new[,] { { 5, 1 }, { 2, 8 } }, ["predicted no", "predicted yes"], ["actual no", "actual yes"]);
        var json = Parse(f);
        var trace = json["data"]![0]!;
        Assert.Equal("heatmap", (string?)trace["type"]);
        Assert.Equal([5.0, 1.0], trace["z"]![0]!.AsArray().Select(v => (double)v!));
        Assert.Equal("actual no", (string?)trace["y"]![0]);
        Assert.Equal("reversed", (string?)json["layout"]!["yaxis"]!["autorange"]);
    }

    [Fact]
    public void Mismatched_lengths_are_an_error_naming_the_trace()
    {
        var e = Assert.Throws<ArgumentException>(() => Chart.Line(new double[] { 1, 2 }, new double[] { 1 }, "loss"));
        Assert.Contains("'loss': 2 x values but 1 y values", e.Message);
        Assert.Throws<ArgumentException>(() => Chart.Column(["a"], [1.0, 2.0], "n"));
        Assert.Throws<ArgumentException>(() => Chart.Grid([Chart.Column(["a"], [1.0], "n"), Chart.Column(["a"], [1.0], "n")], 1, 1));
    }

    [Fact]
    public void Text_from_the_data_cannot_end_the_script_element()
    {
        var html = Chart.Column(["</script><b>x</b>"], [1.0], "a & b").ToHtml();
        var script = html[html.IndexOf("<script", StringComparison.Ordinal)..];
        Assert.Single(Regex.Matches(script, "</script>"));   // only the element's own end
        Assert.Contains("\\u003C/script\\u003E", script);
    }

    [Fact]
    public void The_html_draws_the_figure_now_or_when_plotly_js_arrives()
    {
        var html = Chart.Line(new double[] { 1 }, new double[] { 2 }, "loss").ToHtml();
        Assert.Contains("Plotly.newPlot('ft-chart-", html);
        Assert.Contains("if (typeof window.Plotly !== 'undefined') draw(); else (window.fineTuningPlotlyQueue", html);
        Assert.DoesNotContain("plotly.js v2", html);
        Assert.DoesNotContain("<script src", html);
        Assert.Contains("loss: scatter (1)", html);   // the note shown where scripts do not run
    }
}
