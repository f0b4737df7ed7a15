using System.Net;
using System.Text;
using Markdig;

namespace FineTuning.NotebookRunner;

/// <summary>
/// An executed notebook as one self-contained HTML page (as <c>jupyter nbconvert --to html</c>): markdown rendered,
/// code with its execution count, outputs below it, each output's HTML as the kernel formatted it (charts included:
/// a page opens offline when its outputs carry their scripts).
/// </summary>
public static class HtmlExport
{
    static readonly MarkdownPipeline Markdown = new MarkdownPipelineBuilder().UseAdvancedExtensions().Build();

    const string Style = """
        body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 980px; margin: 2em auto; padding: 0 1em; color: #1f2328; line-height: 1.5; }
        .cell { margin: 1em 0; }
        .code { display: flex; gap: .6em; }
        .prompt { color: #6e7781; font-family: monospace; min-width: 4.5em; text-align: right; padding-top: .6em; }
        pre { margin: 0; padding: .6em .8em; overflow-x: auto; border-radius: 6px; font-size: 13px; }
        pre.source { background: #f6f8fa; border: 1px solid #d0d7de; flex: 1; }
        .outputs { margin-left: 5.1em; }
        pre.stdout { background: #fff; }
        pre.stderr { background: #fff5f5; }
        pre.error { background: #ffebe9; color: #82071e; }
        table { border-collapse: collapse; margin: .5em 0; }
        th, td { border: 1px solid #d0d7de; padding: .25em .6em; text-align: left; }
        code { background: #f6f8fa; padding: .1em .3em; border-radius: 4px; }
        details { background: #f6f8fa; padding: .5em .8em; border-radius: 6px; margin: .4em 0; }
        """;

    public static string Render(Notebook notebook)
    {
        var html = new StringBuilder("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<title>").Append(Encode(notebook.Title)).Append("</title>\n<style>").Append(Style).Append("</style>\n");
        html.Append("</head>\n<body>\n");
        foreach (var cell in notebook.Cells)
        {
            html.Append("<div class=\"cell\">\n");
            if (cell.CellType == "markdown")
                html.Append(Markdig.Markdown.ToHtml(cell.Source, Markdown));
            else if (cell.CellType == "code")
            {
                html.Append("<div class=\"code\"><div class=\"prompt\">[").Append(cell.ExecutionCount?.ToString() ?? " ")
                    .Append("]:</div><pre class=\"source\">").Append(Encode(cell.Source)).Append("</pre></div>\n<div class=\"outputs\">\n");
                foreach (var output in cell.Outputs) html.Append(RenderOutput(output)).Append('\n');
                html.Append("</div>\n");
            }
            html.Append("</div>\n");
        }
        return html.Append("</body>\n</html>\n").ToString();
    }

    static string RenderOutput(CellOutput output) => output switch
    {
        StreamOutput s => $"<pre class=\"{s.Name}\">{Encode(s.Text)}</pre>",
        DataOutput d => d.Html ?? $"<pre class=\"stdout\">{Encode(d.PlainText ?? string.Join("\n", d.Data.Values))}</pre>",
        ErrorOutput e => $"<pre class=\"error\">{Encode(e.Name + ": " + e.Message + "\n" + string.Join("\n", e.Traceback))}</pre>",
        _ => "",
    };

    static string Encode(string text) => WebUtility.HtmlEncode(text);
}
