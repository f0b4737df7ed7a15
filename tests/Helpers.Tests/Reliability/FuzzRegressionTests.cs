using Encoding = System.Text.Encoding;
using FineTuning.Data;
using FineTuning.Models.Bert;
using FineTuning.SafeTensors;
using FineTuning.Tests.SafeTensors;
using FineTuning.Tokenizers;
using FineTuning.Training;

namespace FineTuning.Tests.Reliability;

/// <summary>
/// One test per bug <see cref="LoaderFuzzTests"/> found (the FUZZ_CASE that found it is named), each now raising the
/// loader's documented exception with a clear message instead of an exception from deep inside System.Text.Json or
/// an overflow.
/// </summary>
public class FuzzRegressionTests
{
    const string Unreadable = "is not valid text: invalid UTF-8, or a \\u escape that is half of a UTF-16 surrogate pair (such as \\ud800)";
    const string LoneSurrogate = "\\ud800"; // JSON text: a backslash-u escape Python's json accepts, .NET strings from JSON cannot hold

    [Fact] // config.json:5 — "model_type": "\ud800" threw InvalidOperationException from JsonElement.GetString
    public void Config_With_A_Lone_Surrogate_Escape_Is_Refused_Naming_The_Field()
    {
        var e = Assert.Throws<CheckpointException>(() => BertConfig.FromJson($$"""{"model_type": "{{LoneSurrogate}}", "hidden_size": 64}""", "c/config.json"));
        Assert.Equal($"c/config.json: the value of 'model_type' {Unreadable}", e.Message);
        e = Assert.Throws<CheckpointException>(() => BertConfig.FromJson($$$"""{"id2label": {"0": "a", "1": "b{{{LoneSurrogate}}}"}}""", "c/config.json"));
        Assert.Equal($"c/config.json: the value of 'id2label.1' {Unreadable}", e.Message);
        e = Assert.Throws<CheckpointException>(() => BertConfig.FromJson($$$"""{"label2id": {"{{{LoneSurrogate}}}": 0}}""", "c/config.json"));
        Assert.Equal($"c/config.json: a key in 'label2id' {Unreadable}", e.Message);
    }

    [Fact] // tokenizer_config.json:549 — invalid UTF-8 inside a JSON string passed JsonDocument.Parse and failed when read
    public void Tokenizer_Config_With_Invalid_Utf8_Inside_A_String_Is_Refused()
    {
        using var folder = TokenizerFolder(Encoding.UTF8.GetBytes("{\"unk_token\": \"[UNK").Concat(new byte[] { 0xFF }).Concat(Encoding.UTF8.GetBytes("]\"}")).ToArray());
        var e = Assert.Throws<CheckpointException>(() => AutoTokenizer.FromPretrained(folder.Path));
        Assert.Equal($"{folder.File("tokenizer_config.json")}: not valid UTF-8 text", e.Message);
    }

    [Fact] // tokenizer_config.json:1194 — "tokenizer_class": "\ud800"
    public void Tokenizer_Config_With_A_Lone_Surrogate_Escape_Is_Refused()
    {
        using var folder = TokenizerFolder(Encoding.UTF8.GetBytes($$"""{"tokenizer_class": "Bert{{LoneSurrogate}}"}"""));
        var e = Assert.Throws<CheckpointException>(() => AutoTokenizer.FromPretrained(folder.Path));
        Assert.Equal($"{folder.File("tokenizer_config.json")}: the value of 'tokenizer_class' {Unreadable}", e.Message);
    }

    [Theory] // tokenizer_config.json:2312 — model_max_length -1e30 overflowed a decimal
    [InlineData("-1e30", "must be positive, found -1e30")]
    [InlineData("-99999999999999999999999999999999999", "must be positive, found -99999999999999999999999999999999999")]
    [InlineData("-1e400", "must be positive, found -1e400")]
    [InlineData("1e-400", "must be positive, found 1e-400")]
    [InlineData("2.5", "must be a whole number, found 2.5")]
    public void Model_Max_Length_Out_Of_Any_Range_Is_Refused_Not_An_Overflow(string value, string message)
    {
        using var folder = TokenizerFolder(Encoding.UTF8.GetBytes($$"""{"model_max_length": {{value}}}"""));
        var e = Assert.Throws<CheckpointException>(() => BertTokenizer.FromPretrained(folder.Path));
        Assert.Equal($"{folder.File("tokenizer_config.json")}: field 'model_max_length' {message}", e.Message);
    }

    [Theory]
    [InlineData("1e30")]
    [InlineData("1e400")]
    [InlineData("1000000000000000019884624838656")]
    public void A_Huge_Model_Max_Length_Means_No_Limit(string value)
    {
        using var folder = TokenizerFolder(Encoding.UTF8.GetBytes($$"""{"model_max_length": {{value}}}"""));
        Assert.Null(BertTokenizer.FromPretrained(folder.Path).ModelMaxLength);
    }

    [Fact] // shard-index:71 and :39 — invalid UTF-8 and lone surrogates in model.safetensors.index.json
    public void Shard_Index_With_Unreadable_Strings_Is_Refused()
    {
        using var folder = new TempFolder();
        var index = folder.WriteBytes(SafeTensorsCheckpoint.IndexName,
            [.. Encoding.UTF8.GetBytes("{\"weight_map\": {\"a\": \"model-0000"), 0xFF, .. Encoding.UTF8.GetBytes("1.safetensors\"}}")]);
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsCheckpoint.OpenFolder(folder.Path));
        Assert.Equal($"{index}: not valid UTF-8 text", e.Message);

        folder.Write(SafeTensorsCheckpoint.IndexName, $$$"""{"weight_map": {"{{{LoneSurrogate}}}": "model.safetensors"}}""");
        e = Assert.Throws<CheckpointException>(() => SafeTensorsCheckpoint.OpenFolder(folder.Path));
        Assert.Equal($"{index}: a key in 'weight_map' {Unreadable}", e.Message);
    }

    [Fact] // safetensors:9382 — "dtype": "\ud800" in a safetensors header
    public void Safetensors_Header_With_A_Lone_Surrogate_Escape_Is_Refused()
    {
        using var folder = new TempFolder();
        var path = folder.File("model.safetensors");
        RawSafeTensors.Write(path, $$$"""{"a": {"dtype": "F{{{LoneSurrogate}}}", "shape": [1], "data_offsets": [0, 4]}}    """, new byte[4]);
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(path));
        Assert.Equal($"{path}: safetensors header: the value of 'a.dtype' {Unreadable}", e.Message);
    }

    [Fact] // safetensors:1090 — shape [3, 0, 2^63-1, 2^63-1]: 0 bytes, but libtorch's stride calculation overflowed on Load
    public void Safetensors_Empty_Tensor_Whose_Strides_Overflow_Is_Refused_When_Opened()
    {
        using var folder = new TempFolder();
        var path = folder.File("model.safetensors");
        RawSafeTensors.Write(path, """{"a": {"dtype": "F32", "shape": [0, 4611686018427387904, 4611686018427387904], "data_offsets": [0, 0]}}""", []);
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsFile.Open(path));
        Assert.Equal($"{path}: tensor 'a': shape [0, 4611686018427387904, 4611686018427387904] of F32 overflows a 64-bit byte count", e.Message);
        Assert.Equal("a", e.Key);
    }

    [Fact] // the same class of bug in the other JSON readers: JSON lines, trainer_state.json, training_args.json
    public void Json_Lines_Trainer_State_And_Training_Arguments_With_Lone_Surrogates_Are_Refused()
    {
        using var folder = new TempFolder();
        var lines = folder.Write("train.jsonl", "{\"text\": \"ok\", \"label\": 0}\n" + $$"""{"text": "a{{LoneSurrogate}}", "label": 1}""" + "\n");
        var d = Assert.Throws<DatasetFormatException>(() => Datasets.LoadDataset("json", dataFiles: new() { ["train"] = lines }));
        Assert.Equal($"{lines}, line 2: the value of 'text' {Unreadable}", d.Message);

        var state = folder.Write("trainer_state.json", $$"""{"global_step": 2, "best_model_checkpoint": "{{LoneSurrogate}}"}""");
        var e = Assert.Throws<CheckpointException>(() => TrainerState.LoadFromJson(state));
        Assert.Equal($"{state}: the value of 'best_model_checkpoint' {Unreadable}", e.Message);

        e = Assert.Throws<CheckpointException>(() => TrainingArguments.FromJson($$"""{"output_dir": "{{LoneSurrogate}}"}""", "training_args.json"));
        Assert.Equal($"training_args.json: the value of 'output_dir' {Unreadable}", e.Message);
    }

    [Fact] // found by reading the parquet loader while fixing the above: its "huggingface" metadata hint could throw
    public void Parquet_With_Malformed_Hugging_Face_Metadata_Loads_Ignoring_The_Hint()
    {
        using var folder = new TempFolder();
        var file = Data.DatasetLoadingTests.WriteMrpcParquet(folder.File("train.parquet"), ["a"], ["b"], [1], [0],
            hfMetadataJson: """{"info": {"features": {"label": {"_type": 5, "names": [1, 2]}}}}""");
        var train = Datasets.LoadDataset("parquet", dataFiles: new() { ["train"] = file })["train"];
        Assert.Equal([1L], train.Column<long>("label"));
    }

    static TempFolder TokenizerFolder(byte[] tokenizerConfig)
    {
        var folder = new TempFolder();
        folder.Write("vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n");
        folder.WriteBytes("tokenizer_config.json", tokenizerConfig);
        return folder;
    }
}

