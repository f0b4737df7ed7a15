using Xunit.Sdk;

namespace FineTuning.Tests;

public class SharedFixturesTests
{
    static T WithCi<T>(string? value, Func<T> body)
    {
        var saved = Environment.GetEnvironmentVariable("CI");
        Environment.SetEnvironmentVariable("CI", value);
        try { return body(); }
        finally { Environment.SetEnvironmentVariable("CI", saved); }
    }

    [Fact]
    public void Missing_Fixture_Skips_Locally_And_Fails_On_Ci_Naming_The_Path()
    {
        string[] parts = ["fixtures", "no-such-fixture", "x.bin"];
        var local = WithCi(null, () => new FixtureFactAttribute(parts).Skip);
        Assert.Contains("no-such-fixture", local);

        Assert.Null(WithCi("true", () => new FixtureFactAttribute(parts).Skip));
        var e = WithCi("true", () => Assert.Throws<XunitException>(() => SharedFixtures.Path(parts)));
        Assert.Contains(Path.Combine("no-such-fixture", "x.bin"), e.Message);
        Assert.Contains("CI=true", e.Message);
    }

    [Fact]
    public void Repo_Root_Is_Found_And_Shared_Sits_Beside_It()
    {
        var shared = SharedFixtures.SharedRoot;
        Assert.NotNull(shared);
        Assert.Equal("shared", Path.GetFileName(shared));
    }
}
