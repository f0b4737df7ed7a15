using FineTuning.Hub;

namespace FineTuning.Tests.Hub;

/// <summary>Repository ids as huggingface_hub's validate_repo_id checks them, cache folder names, and the path checks
/// that keep a server's names inside the cache.</summary>
public class HubRepoTests
{
    [Theory]
    [InlineData("bert-base-uncased", RepoType.Model, "models--bert-base-uncased", "bert-base-uncased")]
    [InlineData("google-bert/bert-base-uncased", RepoType.Model, "models--google-bert--bert-base-uncased", "google-bert/bert-base-uncased")]
    [InlineData("nyu-mll/glue", RepoType.Dataset, "datasets--nyu-mll--glue", "datasets/nyu-mll/glue")]
    [InlineData("glue", RepoType.Dataset, "datasets--glue", "datasets/glue")]
    public void Folder_And_Url_Names_Are_Huggingface_Hubs(string id, RepoType type, string folder, string url)
    {
        var repo = new HubRepo(id, type);
        Assert.Equal(folder, repo.CacheFolderName);
        Assert.Equal(url, repo.UrlPath);
    }

    [Theory]
    [InlineData("")]
    [InlineData("a/b/c")]
    [InlineData("/abs")]
    [InlineData("../up")]
    [InlineData("a/../b")]
    [InlineData("a--b")]
    [InlineData("-start")]
    [InlineData("end.")]
    [InlineData("repo.git")]
    [InlineData("C:\\models\\bert")]
    [InlineData("with space")]
    [InlineData("./local")]
    public void Invalid_Ids_Are_Refused(string id)
    {
        Assert.False(HubRepo.IsValidId(id));
        Assert.Throws<ArgumentException>(() => new HubRepo(id));
    }

    [Fact]
    public void Name_Length_Is_Limited_To_96()
    {
        Assert.True(HubRepo.IsValidId("org/" + new string('a', 96)));
        Assert.False(HubRepo.IsValidId("org/" + new string('a', 97)));
    }

    [Theory]
    [InlineData("config.json")]
    [InlineData("mrpc/train-00000-of-00001.parquet")]
    [InlineData("refs/pr/1")]
    [InlineData("v1.0")]
    public void Safe_Repository_Paths_Pass(string name) => Assert.Null(RepoPath.Problem(name));

    [Theory]
    [InlineData("", "empty")]
    [InlineData("..", "'..'")]
    [InlineData("a/../../b", "'..'")]
    [InlineData("./a", "'.'")]
    [InlineData("/etc/passwd", "absolute")]
    [InlineData("a\\b", "backslash")]
    [InlineData("C:x", "drive")]
    [InlineData("a//b", "empty path segment")]
    [InlineData("a/\u0000b", "control")]
    public void Unsafe_Repository_Paths_Say_Why(string name, string why)
    {
        Assert.Contains(why, RepoPath.Problem(name));
        Assert.Throws<HubException>(() => RepoPath.Segments(name, "file name"));
    }

    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef01234567", true)]
    [InlineData("0123456789ABCDEF0123456789ABCDEF01234567", false)]
    [InlineData("main", false)]
    [InlineData("0123456789abcdef", false)]
    public void Commit_Hashes_Are_40_Lowercase_Hex_Digits(string revision, bool isCommit) =>
        Assert.Equal(isCommit, RepoPath.IsCommitHash(revision));

    [Theory]
    [InlineData("\"abc\"", "abc")]
    [InlineData("W/\"abc\"", "abc")]
    [InlineData("abc", "abc")]
    public void ETags_Are_Normalized_As_Huggingface_Hub_Does(string header, string etag) =>
        Assert.Equal(etag, HubFileMetadata.NormalizeEtag(header));

    [Theory]
    [InlineData("../x")]
    [InlineData(".hidden")]
    [InlineData("a/b")]
    [InlineData("")]
    public void Server_Tokens_Must_Be_Plain_Names(string value) =>
        Assert.Throws<HubException>(() => RepoPath.Token(value, "ETag"));
}
