using System.Text.RegularExpressions;

namespace FineTuning.NotebookRunner;

/// <summary>What a directive line asks for.</summary>
public enum DirectiveKind
{
    /// <summary><c>#r "nuget: Package, 1.2.3"</c> (version optional).</summary>
    NuGetReference,
    /// <summary><c>#r "path/to/file.dll"</c>.</summary>
    FileReference,
    /// <summary><c>#i "nuget: source"</c> or <c>#i "path"</c>: a package source, which the runner does not need.</summary>
    PackageSource,
    /// <summary><c>#!import file.dib</c> (or .ipynb, .cs, .csx): runs that file's C# cells here.</summary>
    Import,
    /// <summary><c>#!csharp</c> (or <c>#!c#</c>): the cell is C#, as it is anyway.</summary>
    CSharp,
    /// <summary><c>#!fsharp</c>, <c>#!pwsh</c>, <c>#!html</c>, ...: what follows is for another kernel.</summary>
    OtherLanguage,
    /// <summary>Any other <c>#!</c> magic (<c>#!time</c>, <c>#!about</c>, ...): nothing headless needs.</summary>
    OtherMagic,
}

/// <summary>One directive line of a cell, 1-based <paramref name="Line"/>.</summary>
public sealed record Directive(DirectiveKind Kind, int Line, string Text, string Argument = "", string? Version = null);

/// <summary>
/// Splits a C# cell as the kernel does: directive lines (<c>#r</c>, <c>#i</c>, <c>#!…</c>) are taken out and the rest
/// is C# script. Directive lines become empty lines, so compiler messages keep the cell's line numbers. After a
/// language switch (<c>#!fsharp</c>, ...) the rest of the cell belongs to another kernel and is dropped.
/// </summary>
public static partial class CellDirectives
{
    static readonly HashSet<string> OtherLanguages =
        ["fsharp", "f#", "pwsh", "powershell", "javascript", "js", "html", "markdown", "md", "mermaid", "sql", "kql", "http", "value", "python", "r"];

    [GeneratedRegex("""^#r\s+"nuget:\s*(?<name>[^,"\s]+)\s*(,\s*(?<version>[^"\s]+))?\s*"\s*$""")]
    private static partial Regex NuGetPattern();

    [GeneratedRegex("""^#(?<kind>[ri])\s+"(?<arg>[^"]*)"\s*$""")]
    private static partial Regex QuotedPattern();

    public static (string Code, IReadOnlyList<Directive> Directives) Parse(string source)
    {
        var lines = source.Split('\n');
        var directives = new List<Directive>();
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd('\r');
            var trimmed = line.Trim();
            if (!(trimmed.StartsWith("#!", StringComparison.Ordinal) || trimmed.StartsWith("#r ", StringComparison.Ordinal)
                  || trimmed.StartsWith("#i ", StringComparison.Ordinal)))
                continue;

            Directive directive;
            if (NuGetPattern().Match(trimmed) is { Success: true } nuget)
                directive = new(DirectiveKind.NuGetReference, i + 1, trimmed, nuget.Groups["name"].Value,
                                nuget.Groups["version"].Success ? nuget.Groups["version"].Value : null);
            else if (QuotedPattern().Match(trimmed) is { Success: true } quoted)
                directive = quoted.Groups["kind"].Value == "r"
                    ? new(DirectiveKind.FileReference, i + 1, trimmed, quoted.Groups["arg"].Value)
                    : new(DirectiveKind.PackageSource, i + 1, trimmed, quoted.Groups["arg"].Value);
            else if (trimmed.StartsWith("#!", StringComparison.Ordinal))
            {
                var parts = trimmed[2..].Split((char[])[' ', '\t'], 2, StringSplitOptions.RemoveEmptyEntries);
                var name = parts.Length > 0 ? parts[0].ToLowerInvariant() : "";
                var argument = parts.Length > 1 ? parts[1].Trim().Trim('"') : "";
                directive = name switch
                {
                    "csharp" or "c#" => new(DirectiveKind.CSharp, i + 1, trimmed),
                    "import" => new(DirectiveKind.Import, i + 1, trimmed, argument),
                    _ when OtherLanguages.Contains(name) => new(DirectiveKind.OtherLanguage, i + 1, trimmed, name),
                    _ => new(DirectiveKind.OtherMagic, i + 1, trimmed, name),
                };
            }
            else
                throw new FormatException($"line {i + 1}: cannot read the directive {trimmed} (expected #r \"nuget: Package, 1.2.3\", #r \"file.dll\" or #i \"source\")");

            directives.Add(directive);
            if (directive.Kind == DirectiveKind.OtherLanguage)
            {
                for (var j = i; j < lines.Length; j++) lines[j] = "";
                break;
            }
            lines[i] = "";
        }
        return (string.Join("\n", lines), directives);
    }
}
