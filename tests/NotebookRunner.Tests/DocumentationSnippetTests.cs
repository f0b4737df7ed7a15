using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.Scripting;

namespace FineTuning.NotebookRunner.Tests;

/// <summary>
/// Every C# snippet of README.md and docs/*.md compiles against the library. A document's snippets are compiled in
/// order as one session, the way a reader (or a notebook) takes them: a snippet may use what an earlier one declared
/// (<c>model</c>, <c>tokenizer</c>, <c>args</c>). They are compiled as C# script submissions with the lessons' globals
/// (<c>display</c>, <c>HTML</c>, with the kernel's signatures: a snippet meant for a notebook uses them), and are not run. A failure names the file
/// and the line.
/// </summary>
/// <remarks>A block fenced <c>```csharp fragment</c> is not compiled: a piece of a larger program that cannot stand on
/// its own. Keep such exceptions few; the README and docs have none today.</remarks>
public class DocumentationSnippetTests
{
    static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Helpers.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root not found");
    }

    /// <summary>README.md and every docs/*.md, relative to the repository's root.</summary>
    public static TheoryData<string> Documents()
    {
        var docs = Path.Combine(Root(), "docs");
        IEnumerable<string> files = Directory.Exists(docs) ? Directory.GetFiles(docs, "*.md").Select(f => Path.GetRelativePath(Root(), f)).Order(StringComparer.Ordinal) : [];
        return new(files.Prepend("README.md"));
    }

    /// <summary>One fenced C# block: the line of its first code line (1-based), its code, and whether it is marked a fragment.</summary>
    internal sealed record Snippet(int Line, string Code, bool Fragment);

    internal static List<Snippet> Snippets(string markdown)
    {
        var lines = markdown.Replace("\r\n", "\n").Split('\n');
        var snippets = new List<Snippet>();
        for (int i = 0; i < lines.Length; i++)
        {
            var open = Regex.Match(lines[i], @"^\s*```(csharp|cs|c#)(\s+fragment)?\s*$", RegexOptions.IgnoreCase);
            if (!open.Success) continue;
            var indent = lines[i].Length - lines[i].TrimStart().Length;
            int start = i + 1, end = start;
            while (end < lines.Length && lines[end].Trim() != "```") end++;
            var code = string.Join("\n", lines[start..Math.Min(end, lines.Length)].Select(l => l.Length >= indent && l[..indent].Trim().Length == 0 ? l[indent..] : l));
            snippets.Add(new Snippet(start + 1, code, open.Groups[2].Success));
            i = end;
        }
        return snippets;
    }

    /// <summary>
    /// The framework, the library and TorchSharp, with the kernel's default imports. A snippet meant for a notebook
    /// may call the kernel's <c>display(...)</c> and <c>HTML(...)</c>: <see cref="NotebookGlobals"/> declares them with
    /// the kernel's signatures, so such a snippet compiles here as it does in the kernel.
    /// </summary>
    static readonly Lazy<ScriptOptions> Options = new(() => ScriptOptions.Default
        .WithReferences(((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator)
            .Where(p => Path.GetFileName(p).StartsWith("System.", StringComparison.Ordinal) || Path.GetFileName(p) is "mscorlib.dll" or "netstandard.dll")
            .Select(p => MetadataReference.CreateFromFile(p)))
        .AddReferences(typeof(NotebookGlobals).Assembly, typeof(FineTuning.Models.AutoModelForSequenceClassification).Assembly,
                       typeof(TorchSharp.torch).Assembly)
        .WithImports("System", "System.Text", "System.Collections", "System.Collections.Generic", "System.Threading.Tasks", "System.Linq"));

    /// <summary>What a cell of the C# kernel can call without a using (its <c>Kernel</c> statics), for compiling only.</summary>
    public class NotebookGlobals
    {
        /// <summary>The kernel's <c>display(value, mimeTypes)</c>: an output, and a handle to update it.</summary>
        public DisplayedValue display(object? value, params string[] mimeTypes) => throw new NotSupportedException("compiled, not run");

        /// <summary>The kernel's <c>HTML(string)</c>.</summary>
        public object HTML(string content) => throw new NotSupportedException("compiled, not run");
    }

    /// <summary>The kernel's handle from <c>display(...)</c>.</summary>
    public sealed class DisplayedValue
    {
        /// <summary>Replaces the displayed output.</summary>
        public void Update(object? value) => throw new NotSupportedException("compiled, not run");
    }

    /// <summary>The compile errors of <paramref name="document"/>'s snippets, as "file:line: CS0000: message".</summary>
    internal static List<string> CompileErrors(string document, string markdown)
    {
        var errors = new List<string>();
        Script? session = null;
        foreach (var snippet in Snippets(markdown).Where(s => !s.Fragment))
        {
            var script = session is null ? CSharpScript.Create(snippet.Code, Options.Value, typeof(NotebookGlobals)) : session.ContinueWith(snippet.Code, Options.Value);
            var failed = script.Compile().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            foreach (var d in failed)
                errors.Add($"{document}:{snippet.Line + d.Location.GetLineSpan().StartLinePosition.Line}: {d.Id}: {d.GetMessage()}");
            if (failed.Count == 0) session = script;   // a snippet that fails is left out of what the next ones see
        }
        return errors;
    }

    [Theory]
    [MemberData(nameof(Documents))]
    public void Every_CSharp_Snippet_Compiles_Against_The_Library(string document)
    {
        var markdown = File.ReadAllText(Path.Combine(Root(), document));
        if (document == "README.md") Assert.NotEmpty(Snippets(markdown));   // docs/*.md without C# have nothing to check
        var errors = CompileErrors(document, markdown);
        Assert.True(errors.Count == 0, "C# snippets that do not compile:\n" + string.Join("\n", errors));
    }

    [Fact]
    public void A_Snippet_That_Does_Not_Compile_Is_Reported_With_Its_File_And_Line_And_Fragments_Are_Skipped()
    {
        var markdown = "# t\n\n```csharp\nusing FineTuning.Training;\nvar args = new TrainingArguments { OutputDir = \"o\" };\n```\n\ntext\n\n"
            + "```csharp\nvar n = args.NumTrainEpochs;\nvar x = args.NoSuchProperty;\n```\n\n```csharp fragment\nthis is not C#\n```\n";
        var errors = CompileErrors("doc.md", markdown);
        var error = Assert.Single(errors);
        Assert.StartsWith("doc.md:12: CS1061: 'TrainingArguments' does not contain a definition for 'NoSuchProperty'", error);
    }
}
