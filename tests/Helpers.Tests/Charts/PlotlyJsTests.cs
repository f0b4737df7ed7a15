using System.Text.RegularExpressions;
using FineTuning.Charts;

namespace FineTuning.Tests.Charts;

/// <summary>plotly.js comes from the library (offline) and into a notebook once: the first chart carries it.</summary>
[Collection(nameof(PlotlyJsTests))]   // the once-per-notebook state is process-wide
public class PlotlyJsTests
{
    [Fact]
    public void The_library_carries_plotly_js_2_28_0()
    {
        Assert.StartsWith("/**\n* plotly.js v2.28.0", PlotlyJs.MinJs.Replace("\r", ""));
        Assert.True(PlotlyJs.MinJs.Length > 3_000_000);
        Assert.Contains("if (typeof window.Plotly === 'undefined')", PlotlyJs.Script);
        Assert.Contains("window.fineTuningPlotlyQueue || []).splice(0).forEach", PlotlyJs.Script);   // draws the charts that waited
        Assert.DoesNotContain("</script", PlotlyJs.Script[..^"</script>\n".Length], StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void The_first_chart_of_a_notebook_carries_plotly_js_and_later_ones_do_not()
    {
        var figure = Chart.Column(["a", "b"], [1.0, 2.0], "n");
        PlotlyJs.Reset();
        var first = PlotlyJs.NotebookHtml(figure);
        var second = PlotlyJs.NotebookHtml(figure);
        var third = PlotlyJs.NotebookHtml(Chart.Line(new double[] { 1 }, new double[] { 1 }, "x"));
        Assert.Single(Regex.Matches(first, "plotly.js v2.28.0"));
        Assert.True(first.Length > 3_000_000);
        Assert.DoesNotContain("plotly.js v2", second);
        Assert.DoesNotContain("plotly.js v2", third);
        Assert.True(second.Length < 5_000, $"{second.Length} characters");
        foreach (var html in new[] { first, second, third }) Assert.Single(Regex.Matches(html, @"Plotly\.newPlot\('"));
        // plotly.js comes before the first chart's own script, so that chart draws at once.
        Assert.True(first.IndexOf("plotly.js v2", StringComparison.Ordinal) < first.IndexOf("Plotly.newPlot", StringComparison.Ordinal));

        // A new notebook in the same process (or a page that lost plotly.js): carried again.
        PlotlyJs.Reset();
        Assert.Contains("plotly.js v2.28.0", PlotlyJs.NotebookHtml(figure));
        Assert.True(PlotlyJs.Carried);
    }
}
