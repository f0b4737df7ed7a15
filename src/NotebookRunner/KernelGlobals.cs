namespace FineTuning.NotebookRunner;

/// <summary>
/// What a notebook cell can call without a using, as in the Polyglot C# kernel (whose
/// <c>Microsoft.DotNet.Interactive.Kernel</c> statics are imported into every submission): <c>display(...)</c> and
/// <c>HTML(...)</c>. Only these exist in both places, so the lessons use only these.
/// </summary>
/// <remarks>Lower-case <c>display</c> is the kernel's spelling; code written against it runs here unchanged.</remarks>
public class KernelGlobals
{
    readonly Func<object?, string[], DisplayedValue> displayFunction;

    internal KernelGlobals(Func<object?, string[], DisplayedValue> display) => displayFunction = display;

    /// <summary>Adds an output to the running cell and returns a handle whose <see cref="DisplayedValue.Update"/>
    /// replaces it (the kernel's <c>display(value, mimeTypes)</c>).</summary>
    public DisplayedValue display(object? value, params string[] mimeTypes) => displayFunction(value, mimeTypes);

    /// <summary>Marks a string as HTML to render (the kernel's <c>HTML(string)</c>).</summary>
    public HtmlString HTML(string content) => new(content);
}

/// <summary>The handle <c>display(...)</c> returns (the kernel's <c>DisplayedValue</c>).</summary>
public sealed class DisplayedValue
{
    readonly DataOutput output;
    readonly string[] mimeTypes;

    internal DisplayedValue(DataOutput output, string[] mimeTypes)
    {
        this.output = output;
        this.mimeTypes = mimeTypes;
    }

    /// <summary>Replaces the displayed output with <paramref name="value"/> (live progress, for example).</summary>
    public void Update(object? value) => output.Value = OutputFormatter.Format(value, mimeTypes);
}

/// <summary>A string to render as HTML (the kernel's <c>IHtmlContent</c>).</summary>
public sealed class HtmlString(string value)
{
    public string Value { get; } = value ?? "";
    public override string ToString() => Value;
}
