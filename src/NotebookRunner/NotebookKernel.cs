using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Scripting;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Scripting;

namespace FineTuning.NotebookRunner;

/// <summary>
/// One notebook's C# session, as the Polyglot C# kernel keeps it: each cell is a script submission that continues
/// the previous one (variables, usings and types carry over), its directives are handled first, what it writes and
/// displays becomes its outputs, and the value of its last expression is shown.
/// </summary>
public sealed class NotebookKernel
{
    /// <summary>The C# kernel's default usings (every submission has them).</summary>
    public static readonly string[] DefaultImports =
        ["System", "System.Text", "System.Collections", "System.Collections.Generic", "System.Threading.Tasks", "System.Linq"];

    readonly PackageCatalog catalog;
    readonly ConsoleCapture console;
    readonly string workingDirectory;
    readonly KernelGlobals globals;
    readonly HashSet<string> referencedPaths = new(StringComparer.Ordinal);
    ScriptOptions options;
    ScriptState<object>? state;
    NotebookCell? currentCell;
    int executionCount;

    /// <param name="catalog">The packages <c>#r "nuget: ..."</c> may name.</param>
    /// <param name="console">Where cells' console output is routed from.</param>
    /// <param name="workingDirectory">The folder relative paths in directives are resolved against (the notebook's,
    /// as the kernel runs with the notebook's folder as its current directory).</param>
    public NotebookKernel(PackageCatalog catalog, ConsoleCapture console, string workingDirectory)
    {
        this.catalog = catalog;
        this.console = console;
        this.workingDirectory = Path.GetFullPath(workingDirectory);
        globals = new KernelGlobals(Display);
        options = ScriptOptions.Default
            .WithReferences(catalog.FrameworkAssemblies.Select(p => MetadataReference.CreateFromFile(p)))
            .AddReferences(typeof(KernelGlobals).Assembly)
            .WithImports(DefaultImports)
            .WithSourceResolver(new SourceFileResolver([], this.workingDirectory))
            .WithMetadataResolver(new DeclaredReferencesOnly(ScriptMetadataResolver.Default.WithBaseDirectory(this.workingDirectory)))
            .WithEmitDebugInformation(true)
            .WithFileEncoding(System.Text.Encoding.UTF8);
    }

    /// <summary>Notes about directives (skipped magics, aliases), each naming its cell.</summary>
    public List<string> Notes { get; } = [];

    /// <summary>
    /// Runs one C# cell: fills <see cref="NotebookCell.Outputs"/> and <see cref="NotebookCell.ExecutionCount"/>.
    /// </summary>
    /// <exception cref="CellFailedException">the cell did not compile, threw, or asked for something the runner cannot
    /// give; its error is also the cell's last output.</exception>
    public async Task ExecuteAsync(NotebookCell cell)
    {
        cell.Outputs.Clear();
        cell.ExecutionCount = ++executionCount;
        currentCell = cell;
        using var _ = console.Begin(StreamFor(cell));
        try
        {
            await RunSourceAsync(cell.Source, $"cell {cell.Number}");
        }
        catch (CellFailedException e)
        {
            cell.Outputs.Add(new ErrorOutput(e.ErrorName, e.Message, e.Details));
            throw;
        }
        finally
        {
            currentCell = null;
        }
    }

    /// <summary>Directives, then the C# code, of a cell or an imported one (<paramref name="where"/> names it).</summary>
    async Task RunSourceAsync(string source, string where)
    {
        string code;
        IReadOnlyList<Directive> directives;
        try
        {
            (code, directives) = CellDirectives.Parse(source);
        }
        catch (FormatException e)
        {
            throw new CellFailedException("DirectiveError", $"{where}, {e.Message}");
        }
        foreach (var directive in directives)
            await HandleDirectiveAsync(directive, where);
        await RunCodeAsync(code, where);
    }

    async Task HandleDirectiveAsync(Directive directive, string where)
    {
        string at = $"{where}, line {directive.Line}: {directive.Text}";
        switch (directive.Kind)
        {
            case DirectiveKind.NuGetReference:
                try
                {
                    var (assemblies, note) = catalog.Resolve(directive.Argument, directive.Version);
                    AddReferences(assemblies);
                    if (note is not null) Note($"{at}: {note}");
                }
                catch (PackageNotCarriedException e)
                {
                    throw new CellFailedException("PackageNotFound", $"{at}: {e.Message}");
                }
                break;
            case DirectiveKind.FileReference:
                AddFileReference(directive, at);
                break;
            case DirectiveKind.PackageSource:
                Note($"{at}: package source accepted and not needed (the runner carries its packages)");
                break;
            case DirectiveKind.Import:
                await ImportAsync(directive, at);
                break;
            case DirectiveKind.CSharp:
                break;
            case DirectiveKind.OtherLanguage:
                Note($"{at}: the rest of the cell is for the {directive.Argument} kernel; skipped (the runner runs C#)");
                break;
            case DirectiveKind.OtherMagic:
                Note($"{at}: magic command skipped (not needed to run headlessly)");
                break;
        }
    }

    void AddFileReference(Directive directive, string at)
    {
        var fileName = Path.GetFileName(directive.Argument);
        if (directive.Argument.StartsWith("nuget:", StringComparison.OrdinalIgnoreCase))
            throw new CellFailedException("DirectiveError", $"{at}: expected #r \"nuget: Package, 1.2.3\"");
        // The runner is built with this repository's library: a notebook's #r of that library's build output gets
        // the runner's copy, so there is one FineTuning in the process whichever configuration was built.
        if (catalog.CarriedAssembly(fileName) is { } carried)
        {
            AddReferences([carried]);
            return;
        }
        var path = Path.GetFullPath(Path.Combine(workingDirectory, directive.Argument));
        if (!File.Exists(path))
            throw new CellFailedException("FileNotFound", $"{at}: {path} does not exist");
        Assembly.LoadFrom(path);
        AddReferences([path]);
    }

    void AddReferences(IEnumerable<string> paths)
    {
        var added = paths.Where(referencedPaths.Add).Select(p => MetadataReference.CreateFromFile(p)).ToList();
        if (added.Count > 0) options = options.AddReferences(added);
    }

    /// <summary><c>#!import</c>: runs a .dib, .ipynb, .cs or .csx file's C# cells in this session, in this cell.</summary>
    async Task ImportAsync(Directive directive, string at)
    {
        var path = Path.GetFullPath(Path.Combine(workingDirectory, directive.Argument));
        if (!File.Exists(path))
            throw new CellFailedException("FileNotFound", $"{at}: {path} does not exist");
        var name = Path.GetFileName(path);
        switch (Path.GetExtension(path).ToLowerInvariant())
        {
            case ".ipynb":
                foreach (var cell in Notebook.Load(path).Cells.Where(c => c.CellType == "code" && c.Kernel == "csharp"))
                    await RunSourceAsync(cell.Source, $"{name} cell {cell.Number} (imported by {at})");
                break;
            case ".dib":
                foreach (var (kernel, line, source) in DibCells(File.ReadAllText(path)))
                    if (kernel == "csharp") await RunSourceAsync(source, $"{name} line {line} (imported by {at})");
                break;
            case ".cs":
            case ".csx":
                await RunSourceAsync(File.ReadAllText(path), $"{name} (imported by {at})");
                break;
            default:
                throw new CellFailedException("DirectiveError", $"{at}: #!import takes .dib, .ipynb, .cs or .csx files");
        }
    }

    /// <summary>The cells of a .dib file: each starts at a <c>#!kernel</c> line (C# before the first one).</summary>
    internal static IEnumerable<(string Kernel, int Line, string Source)> DibCells(string text)
    {
        var lines = text.Replace("\r\n", "\n").Split('\n');
        string kernel = "csharp";
        int start = 0;
        var body = new List<string>();
        for (var i = 0; i <= lines.Length; i++)
        {
            var marker = i < lines.Length ? DibKernel(lines[i]) : "";
            if (marker is null) { body.Add(lines[i]); continue; }
            if (body.Any(l => l.Trim().Length > 0)) yield return (kernel, start + 1, string.Join("\n", body));
            body.Clear();
            if (i < lines.Length) { kernel = marker; start = i + 1; }
        }
    }

    static string? DibKernel(string line)
    {
        var trimmed = line.Trim();
        if (!trimmed.StartsWith("#!", StringComparison.Ordinal) || trimmed.Contains(' ')) return null;
        return trimmed[2..].ToLowerInvariant() switch
        {
            "csharp" or "c#" => "csharp",
            "meta" => "meta",
            "fsharp" or "f#" or "markdown" or "md" or "pwsh" or "powershell" or "html" or "javascript" or "js"
                or "mermaid" or "sql" or "kql" or "value" or "http" => trimmed[2..].ToLowerInvariant(),
            _ => null,   // a magic command inside a cell, not a cell boundary
        };
    }

    async Task RunCodeAsync(string code, string where)
    {
        if (string.IsNullOrWhiteSpace(code)) return;
        Script<object> script = state is null
            ? CSharpScript.Create(code, options, typeof(KernelGlobals))
            : state.Script.ContinueWith(code, options);

        List<Diagnostic> errors;
        try
        {
            errors = script.Compile().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Roslyn itself can fail on unusual script code: report it as this cell's error, not a runner crash.
            var inner = e is AggregateException { InnerException: { } i } ? i : e;
            throw new CellFailedException("CompilerCrash", $"{where}: the C# compiler failed on this code ({inner.GetType().Name}: {inner.Message})",
                inner.ToString().Split('\n').Take(20).ToList());
        }
        if (errors.Count > 0)
            throw new CellFailedException("CompilationError",
                $"{where}: {errors.Count} compilation error(s): {errors[0]}",
                errors.Select(e => e.ToString()).ToList());
        var hasValue = HasTrailingValue(script.GetCompilation());

        var next = state is null
            ? await script.RunAsync(globals, catchException: _ => true)
            : await script.RunFromAsync(state, catchException: _ => true);
        if (next.Exception is { } exception)
        {
            var e = exception is TargetInvocationException { InnerException: { } inner } ? inner : exception;
            throw new CellFailedException(e.GetType().Name, $"{where}: {e.GetType().FullName}: {e.Message}",
                e.ToString().Split('\n').Select(l => l.TrimEnd('\r')).ToList());
        }
        state = next;
        if (hasValue && currentCell is { } cell)
            lock (cell.Outputs) cell.Outputs.Add(new DataOutput(isResult: true, OutputFormatter.Format(next.ReturnValue)));
    }

    /// <summary>Whether the submission ends with an expression that has a value and no semicolon (the kernel shows
    /// that value; <c>x;</c> or a void call shows nothing).</summary>
    static bool HasTrailingValue(Compilation compilation)
    {
        var tree = compilation.SyntaxTrees.Last();
        var last = tree.GetRoot().ChildNodes().OfType<GlobalStatementSyntax>().LastOrDefault();
        if (last?.Statement is not ExpressionStatementSyntax { SemicolonToken.IsMissing: true } statement) return false;
        var type = compilation.GetSemanticModel(tree).GetTypeInfo(statement.Expression).Type;
        return type is not null && type.SpecialType != SpecialType.System_Void;
    }

    DisplayedValue Display(object? value, string[] mimeTypes)
    {
        var output = new DataOutput(isResult: false, OutputFormatter.Format(value, mimeTypes));
        // Outside a running cell (a timer after its cell ended) there is no output to add it to.
        if (currentCell is { } cell)
            lock (cell.Outputs) cell.Outputs.Add(output);
        return new DisplayedValue(output, mimeTypes);
    }

    static Func<string, StreamOutput> StreamFor(NotebookCell cell) => name =>
    {
        lock (cell.Outputs)
        {
            if (cell.Outputs.Count > 0 && cell.Outputs[^1] is StreamOutput last && last.Name == name) return last;
            var stream = new StreamOutput(name);
            cell.Outputs.Add(stream);
            return stream;
        }
    };

    void Note(string message) => Notes.Add(message);
}

/// <summary>
/// Roslyn scripting would quietly resolve any assembly a referenced assembly depends on (the runner's own
/// dependencies included); the kernel does not. Only what a notebook references (#r) compiles, as in the kernel.
/// </summary>
sealed class DeclaredReferencesOnly(ScriptMetadataResolver resolver) : MetadataReferenceResolver
{
    readonly ScriptMetadataResolver inner = resolver;
    public override bool ResolveMissingAssemblies => false;
    public override System.Collections.Immutable.ImmutableArray<PortableExecutableReference> ResolveReference(string reference, string? baseFilePath, MetadataReferenceProperties properties) =>
        inner.ResolveReference(reference, baseFilePath, properties);
    public override bool Equals(object? other) => other is DeclaredReferencesOnly d && d.inner.Equals(inner);
    public override int GetHashCode() => inner.GetHashCode();
}

/// <summary>A cell that failed: <see cref="Exception.Message"/> names the cell (and line) and says why.</summary>
public sealed class CellFailedException(string errorName, string message, IReadOnlyList<string>? details = null) : Exception(message)
{
    /// <summary>The error's kind: CompilationError, PackageNotFound, FileNotFound, or the exception's type name.</summary>
    public string ErrorName { get; } = errorName;
    /// <summary>Compiler messages or the stack trace.</summary>
    public IReadOnlyList<string> Details { get; } = details ?? [message];
}
