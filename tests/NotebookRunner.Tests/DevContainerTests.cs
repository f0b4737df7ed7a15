using System.Text.Json;

namespace FineTuning.NotebookRunner.Tests;

/// <summary>
/// .devcontainer/devcontainer.json against the dev container specification's essential rules (the JSON schema is
/// not reachable offline): JSONC, known top-level properties, an image source, the GPU host requirement's allowed
/// values, and what the lessons need (Ubuntu 24.04 for GLIBCXX_3.4.32, .NET 10, Polyglot Notebooks and C#, a build).
/// </summary>
public class DevContainerTests
{
    // containers.dev/implementors/json_reference: general, image/Dockerfile and Compose properties, and lifecycle scripts.
    static readonly HashSet<string> KnownProperties =
    [
        "$schema", "name", "image", "build", "dockerFile", "context", "dockerComposeFile", "service", "runServices",
        "workspaceFolder", "workspaceMount", "features", "overrideFeatureInstallOrder", "forwardPorts", "portsAttributes",
        "otherPortsAttributes", "appPort", "containerEnv", "remoteEnv", "containerUser", "remoteUser", "updateRemoteUserUID",
        "userEnvProbe", "mounts", "runArgs", "shutdownAction", "overrideCommand", "initializeCommand", "onCreateCommand",
        "updateContentCommand", "postCreateCommand", "postStartCommand", "postAttachCommand", "waitFor", "hostRequirements",
        "customizations", "privileged", "capAdd", "securityOpt", "init",
    ];

    static JsonElement Load()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, ".devcontainer", "devcontainer.json");
            if (File.Exists(path))
                return JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }).RootElement;
        }
        throw new FileNotFoundException(".devcontainer/devcontainer.json not found above " + AppContext.BaseDirectory);
    }

    [Fact]
    public void Follows_The_Specifications_Structure()
    {
        var config = Load();
        Assert.Equal(JsonValueKind.Object, config.ValueKind);
        Assert.All(config.EnumerateObject(), p => Assert.True(KnownProperties.Contains(p.Name), $"unknown property {p.Name}"));
        // One image source: an image, a Dockerfile build, or Compose.
        Assert.Single(new[] { "image", "build", "dockerComposeFile" }, k => config.TryGetProperty(k, out _));
        var gpu = config.GetProperty("hostRequirements").GetProperty("gpu");
        Assert.True(gpu.ValueKind is JsonValueKind.True or JsonValueKind.False or JsonValueKind.Object
                    || gpu.ValueKind == JsonValueKind.String && gpu.GetString() == "optional", "hostRequirements.gpu: true, false, \"optional\" or { cores, memory }");
        Assert.All(config.GetProperty("features").EnumerateObject(), f => Assert.Matches(@"^[\w.\-]+(/[\w.\-]+)+:\d+$", f.Name));
        Assert.All(config.GetProperty("customizations").GetProperty("vscode").GetProperty("extensions").EnumerateArray(),
                   e => Assert.Matches(@"^[\w\-]+\.[\w\-]+$", e.GetString()));
        Assert.True(config.GetProperty("postCreateCommand").ValueKind is JsonValueKind.String or JsonValueKind.Array or JsonValueKind.Object);
    }

    [Fact]
    public void Gives_The_Lessons_What_They_Need()
    {
        var config = Load();
        Assert.Matches(":noble$|ubuntu-24.04|:24.04", config.GetProperty("image").GetString());   // libstdc++ with GLIBCXX_3.4.32
        Assert.Equal("10.0", config.GetProperty("features").GetProperty("ghcr.io/devcontainers/features/dotnet:2").GetProperty("version").GetString());
        Assert.Equal("optional", config.GetProperty("hostRequirements").GetProperty("gpu").GetString());
        var extensions = config.GetProperty("customizations").GetProperty("vscode").GetProperty("extensions").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Contains("ms-dotnettools.dotnet-interactive-vscode", extensions);
        Assert.Contains("ms-dotnettools.csharp", extensions);
        Assert.Contains("dotnet build Helpers.sln", config.GetProperty("postCreateCommand").GetString());
    }
}
