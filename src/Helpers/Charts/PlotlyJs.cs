namespace FineTuning.Charts;

/// <summary>
/// plotly.js for the charts, offline: the pinned plotly.min.js compiled into this library (Charts/plotly.js), and
/// the rule that puts it into a notebook once: the first chart a kernel shows carries it, later ones use it.
/// </summary>
/// <remarks>
/// Why once per kernel is enough: every output of a notebook is drawn into one page (VS Code's notebook webview,
/// Jupyter, the runner's HTML export), so <c>window.Plotly</c> defined by the first chart serves the rest. Re-running
/// or clearing cells keeps the page and its <c>window.Plotly</c>. A chart drawn before the carrier's script ran
/// (outputs drawn out of order) waits in a queue that the carrier empties. Only a notebook reopened with the carrier's
/// output cleared but later outputs kept has no plotly.js: those charts say "run the cell again" — a reopened
/// notebook has a new kernel, whose first chart carries plotly.js again. A restarted kernel starts over the same way.
/// </remarks>
public static class PlotlyJs
{
    /// <summary>The global array where a chart drawn before plotly.js was loaded waits (a function per chart).</summary>
    public const string QueueName = "fineTuningPlotlyQueue";

    const string ResourceName = "FineTuning.Charts.plotly.min.js";

    static readonly Lazy<string> Source = new(() =>
    {
        using var stream = typeof(PlotlyJs).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"FineTuning.dll does not carry {ResourceName} (see src/Helpers/Charts/plotly.js)");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    static readonly Lazy<string> ScriptElement = new(() =>
        // The UMD bundle gets undefined define/module/exports so that it sets window.Plotly also where require.js is
        // loaded (Jupyter); "</script" inside it must not end the element.
        "<script type=\"text/javascript\">if (typeof window.Plotly === 'undefined') { (function (define, module, exports) {\n"
        + Source.Value.Replace("</script", "<\\/script", StringComparison.OrdinalIgnoreCase)
        + "\n}).call(window); }\n"
        + $"(window.{QueueName} || []).splice(0).forEach(function (draw) {{ draw(); }});</script>\n");

    static int carried;

    /// <summary>plotly.min.js itself (version in its first lines: "plotly.js v2.28.0").</summary>
    public static string MinJs => Source.Value;

    /// <summary>A script element that defines <c>window.Plotly</c> unless it is defined, then draws the queued charts.</summary>
    public static string Script => ScriptElement.Value;

    /// <summary>Whether a chart with plotly.js has been rendered for the notebook since start or <see cref="Reset"/>.</summary>
    public static bool Carried => Volatile.Read(ref carried) != 0;

    /// <summary>
    /// The HTML a notebook shows for <paramref name="figure"/>: the first call carries plotly.js, later calls do not.
    /// </summary>
    public static string NotebookHtml(Figure figure)
    {
        ArgumentNullException.ThrowIfNull(figure);
        var first = Interlocked.Exchange(ref carried, 1) == 0;
        return figure.ToHtml(includePlotlyJs: first);
    }

    /// <summary>The next <see cref="NotebookHtml"/> carries plotly.js again (a page that lost it; a new notebook in the
    /// same process, as a test host runs them).</summary>
    public static void Reset() => Volatile.Write(ref carried, 0);
}
