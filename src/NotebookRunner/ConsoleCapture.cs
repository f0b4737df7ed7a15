using System.Text;

namespace FineTuning.NotebookRunner;

/// <summary>
/// Sends what cells write to <see cref="Console.Out"/> and <see cref="Console.Error"/> into the running cell's
/// stream outputs, as the kernel does. The writers are installed once and stay: code that keeps a reference to
/// <c>Console.Error</c> (the library's <c>Logging.Writer</c>, for HF's warnings) still lands in the right cell.
/// Outside a cell, text goes to the original console.
/// </summary>
public sealed class ConsoleCapture : IDisposable
{
    readonly TextWriter originalOut, originalError;
    readonly object gate = new();
    Func<string, StreamOutput>? sink;

    public ConsoleCapture()
    {
        originalOut = Console.Out;
        originalError = Console.Error;
        Console.SetOut(new RoutingWriter(this, "stdout", originalOut));
        Console.SetError(new RoutingWriter(this, "stderr", originalError));
    }

    /// <summary>The console as it was before capturing (for the runner's own messages).</summary>
    public TextWriter Out => originalOut;

    /// <summary>Routes output to <paramref name="streamFor"/> ("stdout"/"stderr" → the output to append to) until
    /// the returned scope is disposed.</summary>
    public IDisposable Begin(Func<string, StreamOutput> streamFor)
    {
        lock (gate) sink = streamFor;
        return new Scope(this);
    }

    void Write(string stream, TextWriter fallback, string text)
    {
        StreamOutput? target;
        lock (gate) target = sink?.Invoke(stream);
        if (target is not null) target.Append(text);
        else fallback.Write(text);
    }

    public void Dispose()
    {
        Console.Out.Flush();
        Console.Error.Flush();
        Console.SetOut(originalOut);
        Console.SetError(originalError);
    }

    sealed class Scope(ConsoleCapture owner) : IDisposable
    {
        public void Dispose() { lock (owner.gate) owner.sink = null; }
    }

    sealed class RoutingWriter(ConsoleCapture owner, string stream, TextWriter fallback) : TextWriter
    {
        public override Encoding Encoding => Encoding.UTF8;
        public override void Write(char value) => owner.Write(stream, fallback, value.ToString());
        public override void Write(string? value) { if (!string.IsNullOrEmpty(value)) owner.Write(stream, fallback, value); }
        public override void Write(char[] buffer, int index, int count) => Write(new string(buffer, index, count));
        public override void WriteLine(string? value) => Write((value ?? "") + "\n");
        public override void WriteLine() => Write("\n");
        public override void Flush() => fallback.Flush();
    }
}
