using FineTuning.Display;
using Microsoft.DotNet.Interactive.Formatting;

namespace FineTuning.Interactive;

/// <summary>
/// Registers the library's displays with the .NET Interactive kernel, so a cell that ends with a dataset, a tokenizer
/// output, a loading report, the log history, a train or prediction output or a chart shows it as HF's objects show in
/// Jupyter: HTML (<see cref="Repr.Html"/>) with a plain-text form beside it (<see cref="Repr.PlainText"/>).
/// </summary>
/// <remarks>
/// Called once per kernel by the lessons' setup.dib, right after its <c>#r</c> of this assembly (an explicit call, not
/// a kernel extension: the kernel discovers extensions only inside NuGet packages, and setup.dib loads the library by
/// path). Calling it again changes nothing.
/// </remarks>
public static class Formatters
{
    static int registered;

    /// <summary>Registers the formatters (idempotent).</summary>
    public static void Register()
    {
        if (Interlocked.Exchange(ref registered, 1) != 0) return;
        foreach (var type in Repr.Types)
        {
            Formatter.Register(type, (value, writer) => writer.Write(Repr.Html(value)), HtmlFormatter.MimeType);
            Formatter.Register(type, (value, writer) => writer.Write(Repr.PlainText(value)), PlainTextFormatter.MimeType);
            // Both forms in every output: HTML for the notebook, text for terminals, diffs and text-only viewers.
            Formatter.SetPreferredMimeTypesFor(type, HtmlFormatter.MimeType, PlainTextFormatter.MimeType);
        }
    }
}
