namespace FineTuning.Models.Onnx;

/// <summary>
/// The protocol-buffers wire format, read by hand: just enough (varints, 32/64-bit words, length-delimited fields) to
/// walk an ONNX <c>ModelProto</c> without a protobuf runtime. Fields are read in file order; unknown fields are
/// skipped, as protobuf does. Every malformed input raises <see cref="FormatException"/> with the byte offset.
/// </summary>
internal struct ProtoReader(ReadOnlyMemory<byte> data, long baseOffset = 0)
{
    int position;

    /// <summary>Wire types of the protobuf encoding.</summary>
    public const int Varint = 0, Fixed64 = 1, LengthDelimited = 2, Fixed32 = 5;

    public readonly bool AtEnd => position >= data.Length;

    /// <summary>The absolute offset in the file, for messages.</summary>
    public readonly long Offset => baseOffset + position;

    /// <summary>The next field's number and wire type.</summary>
    public (int Field, int WireType) ReadTag()
    {
        var tag = ReadVarint();
        var field = tag >> 3;
        if (field is 0 or > 536_870_911) throw Error($"invalid field number {field}");
        return ((int)field, (int)(tag & 7));
    }

    public ulong ReadVarint()
    {
        var span = data.Span;
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (position >= span.Length) throw Error("truncated varint");
            byte b = span[position++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return value;
        }
        throw Error("varint longer than 10 bytes");
    }

    public long ReadInt64() => (long)ReadVarint();

    /// <summary>A length-delimited field's bytes (a sub-message, a string, packed numbers, raw tensor data), not copied.</summary>
    public ReadOnlyMemory<byte> ReadBytes(out long offset)
    {
        var length = ReadVarint();
        offset = Offset;
        if (length > (ulong)(data.Length - position)) throw Error($"field of {length} bytes runs past the end of its message");
        var slice = data.Slice(position, (int)length);
        position += (int)length;
        return slice;
    }

    public string ReadString() => System.Text.Encoding.UTF8.GetString(ReadBytes(out _).Span);

    /// <summary>A sub-message as its own reader.</summary>
    public ProtoReader ReadMessage()
    {
        var bytes = ReadBytes(out var offset);
        return new ProtoReader(bytes, offset);
    }

    public float ReadFloat()
    {
        if (data.Length - position < 4) throw Error("truncated float");
        var value = BitConverter.ToSingle(data.Span.Slice(position, 4)); // protobuf is little-endian, as is every platform .NET runs on here
        position += 4;
        return value;
    }

    /// <summary>Skips a field of the given wire type.</summary>
    public void Skip(int wireType)
    {
        switch (wireType)
        {
            case Varint: ReadVarint(); break;
            case Fixed64: Advance(8); break;
            case LengthDelimited: ReadBytes(out _); break;
            case Fixed32: Advance(4); break;
            default: throw Error($"unsupported wire type {wireType}");
        }
    }

    void Advance(int n)
    {
        if (data.Length - position < n) throw Error("truncated field");
        position += n;
    }

    /// <summary>A repeated int64 field, packed (one length-delimited run) or not (one varint per tag).</summary>
    public void ReadInt64s(int wireType, List<long> into)
    {
        if (wireType == Varint)
        {
            into.Add(ReadInt64());
            return;
        }
        if (wireType != LengthDelimited) throw Error($"repeated int64 with wire type {wireType}");
        var packed = ReadMessage();
        while (!packed.AtEnd) into.Add(packed.ReadInt64());
    }

    readonly FormatException Error(string message) => new($"protobuf: {message} at byte {Offset}");
}
