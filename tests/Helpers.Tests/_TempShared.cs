// THROWAWAY stand-in until branch safetensors merges.
namespace FineTuning.Tests;
public static class SharedFixtures
{
    public static string Root => System.IO.Path.GetFullPath(System.IO.Path.Combine(AppContext.BaseDirectory, "../../../../../../shared"));
    public static string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);
}
public sealed class FixtureFactAttribute : FactAttribute { }
public sealed class FixtureTheoryAttribute : TheoryAttribute { }
