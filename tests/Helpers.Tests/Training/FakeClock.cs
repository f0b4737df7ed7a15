namespace FineTuning.Tests.Training;

/// <summary>A clock that moves only when told, so progress displays print the same text on every run.</summary>
internal sealed class FakeClock(double startSeconds = 1000) : TimeProvider
{
    long ticks = (long)(startSeconds * TimeSpan.TicksPerSecond);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => ticks;

    public void Advance(double seconds) => ticks += (long)Math.Round(seconds * TimeSpan.TicksPerSecond);
}
