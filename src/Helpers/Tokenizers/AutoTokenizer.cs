using System.Text.Json;
using FineTuning.Hub;

namespace FineTuning.Tokenizers;

/// <summary>
/// HF <c>AutoTokenizer.from_pretrained</c>: picks the tokenizer from tokenizer_config.json's
/// <c>tokenizer_class</c>, else config.json's <c>model_type</c>, else assumes BERT when vocab.txt is present.
/// Only BERT is supported; anything else raises <see cref="CheckpointException"/>.
/// </summary>
public static class AutoTokenizer
{
    static readonly string[] BertClasses = ["BertTokenizer", "BertTokenizerFast"];

    /// <param name="pretrainedModelNameOrPath">a folder with vocab.txt (and tokenizer_config.json,
    /// special_tokens_map.json, config.json when present), or a Hub model id (<c>bert-base-uncased</c>) whose
    /// tokenizer files are downloaded once into the shared cache.</param>
    /// <param name="revision">Hub ids: a branch, tag or commit hash (default "main").</param>
    /// <param name="hub">Hub ids: endpoint, cache, token, offline mode; default <see cref="HubSettings.Default"/> or the environment.</param>
    public static BertTokenizer FromPretrained(string pretrainedModelNameOrPath, string? revision = null, HubSettings? hub = null)
    {
        var folder = PretrainedSource.TokenizerFolder(pretrainedModelNameOrPath, revision, hub);
        if (!Directory.Exists(folder)) throw new CheckpointException(folder, "tokenizer folder not found" + PathDisplay.FullPathNote(folder));

        var tokenizerConfig = Path.Combine(folder, BertTokenizer.TokenizerConfigFile);
        if (TokenizerJson.ReadObject(tokenizerConfig) is { } tc && tc.TryGetProperty("tokenizer_class", out var cls) && cls.ValueKind != JsonValueKind.Null)
        {
            if (cls.ValueKind != JsonValueKind.String)
                throw new CheckpointException(tokenizerConfig, $"field 'tokenizer_class' must be a string, found {cls.GetRawText()}", "tokenizer_class");
            var name = cls.GetString()!;
            if (!BertClasses.Contains(name))
                throw new CheckpointException(tokenizerConfig, $"tokenizer_class \"{name}\" is not supported (supported: {string.Join(", ", BertClasses)})", "tokenizer_class");
            return BertTokenizer.FromPretrained(folder);
        }

        var config = Path.Combine(folder, "config.json");
        if (TokenizerJson.ReadObject(config) is { } c && c.TryGetProperty("model_type", out var type))
        {
            if (type.ValueKind != JsonValueKind.String)
                throw new CheckpointException(config, $"field 'model_type' must be a string, found {type.GetRawText()}", "model_type");
            if (type.GetString() != "bert")
                throw new CheckpointException(config, $"model_type \"{type.GetString()}\" has no supported tokenizer (supported: bert)", "model_type");
            return BertTokenizer.FromPretrained(folder);
        }

        if (File.Exists(Path.Combine(folder, BertTokenizer.VocabFile))) return BertTokenizer.FromPretrained(folder);
        throw new CheckpointException(folder, "cannot tell which tokenizer this folder holds: no tokenizer_config.json tokenizer_class, no config.json model_type, no vocab.txt");
    }
}
