using System.Net;
using System.Text;

namespace FineTuning.Hub;

/// <summary>
/// Download progress as HTML for a notebook output cell: one row per file, an HTML <c>&lt;progress&gt;</c> bar and
/// tqdm's label (<c>15.1M/33.5M [00:02&lt;00:03, 6.20MB/s]</c>), finished files kept above the one under way.
/// </summary>
/// <remarks>
/// As the Trainer's <c>NotebookProgressCallback</c>, the library knows nothing of the kernel: each report calls
/// <c>display</c> with the complete HTML, and the notebook passes an action that replaces one output in place (in a
/// Polyglot notebook: <c>var output = display(HTML("")); HubSettings.Default = HubSettings.FromEnvironment() with
/// { Progress = new NotebookDownloadProgress(html =&gt; output.Update(HTML(html))) };</c>). File names are HTML-escaped.
/// </remarks>
public sealed class NotebookDownloadProgress : IProgress<DownloadProgress>
{
    const int BarWidthPixels = 300;

    readonly Action<string> display;
    readonly List<DownloadProgress> rows = [];
    readonly object gate = new();

    /// <summary>Creates the display.</summary>
    /// <param name="display">Called with the full, updated HTML at each report; it should replace one output's content.</param>
    public NotebookDownloadProgress(Action<string> display)
    {
        ArgumentNullException.ThrowIfNull(display);
        this.display = display;
    }

    /// <summary>Updates the file's row (adding it when new) and redraws.</summary>
    public void Report(DownloadProgress value)
    {
        ArgumentNullException.ThrowIfNull(value);
        string html;
        lock (gate)
        {
            int i = rows.FindLastIndex(r => r.FileName == value.FileName && r.RepoId == value.RepoId && !r.IsComplete);
            if (i >= 0) rows[i] = value; else rows.Add(value);
            html = Render();
        }
        display(html);
    }

    string Render()
    {
        var sb = new StringBuilder("<div>");
        foreach (var row in rows)
        {
            var label = row.ToProgressLine();
            var text = label[(label.IndexOf(": ", StringComparison.Ordinal) + 2)..];
            // Keep tqdm's sizes and times, drop its text bar (the <progress> element is the bar).
            var bracket = text.IndexOf("| ", StringComparison.Ordinal);
            if (bracket >= 0) text = text[(bracket + 2)..];
            long max = Math.Max(1, row.TotalBytes ?? Math.Max(1, row.BytesDownloaded));
            long value = Math.Min(max, row.BytesDownloaded);
            sb.Append("\n  <div>")
              .Append(WebUtility.HtmlEncode(row.FileName)).Append(": ")
              .Append($"<progress value='{value}' max='{max}' style='width:{BarWidthPixels}px; height:20px; vertical-align: middle;'></progress> ")
              .Append(WebUtility.HtmlEncode(text))
              .Append("</div>");
        }
        return sb.Append("\n</div>").ToString();
    }
}
