using System.Buffers.Binary;
using System.Numerics;
using System.Text;

namespace CurWorkflows.Cur.Reading;

/// <summary>
/// Gives each distinct UTF-8 value (package, resource id, product code...) a dense id without creating a string per
/// row. Strings are made once per distinct value, when results are built.
/// </summary>
internal sealed class Utf8Table
{
    private readonly List<byte[]> _values = [];
    private int[] _slots = new int[64];
    private int[] _hashes = new int[64];
    private byte[] _last = [];
    private int _lastId = -1;

    public int Count => _values.Count;

    public byte[] this[int id] => _values[id];

    public string GetString(int id) => Encoding.UTF8.GetString(_values[id]);

    public int GetOrAdd(ReadOnlySpan<byte> value)
    {
        if (_lastId >= 0 && value.SequenceEqual(_last))
        {
            return _lastId;
        }

        var hash = Hash(value);
        var mask = _slots.Length - 1;
        var slot = hash & mask;
        while (true)
        {
            var entry = _slots[slot];
            if (entry == 0)
            {
                break;
            }

            if (_hashes[slot] == hash && value.SequenceEqual(_values[entry - 1]))
            {
                _last = _values[entry - 1];
                _lastId = entry - 1;
                return _lastId;
            }

            slot = (slot + 1) & mask;
        }

        var id = _values.Count;
        var bytes = value.ToArray();
        _values.Add(bytes);
        _slots[slot] = id + 1;
        _hashes[slot] = hash;
        if (_values.Count * 2 > _slots.Length)
        {
            Grow();
        }

        _last = bytes;
        _lastId = id;
        return id;
    }

    public void Write(BinaryWriter writer)
    {
        writer.Write(_values.Count);
        foreach (var value in _values)
        {
            writer.Write(value.Length);
            writer.Write(value);
        }
    }

    public static Utf8Table Read(BinaryReader reader)
    {
        var table = new Utf8Table();
        var count = reader.ReadInt32();
        for (var i = 0; i < count; i++)
        {
            var length = reader.ReadInt32();
            if (table.GetOrAdd(reader.ReadBytes(length)) != i)
            {
                throw new InvalidDataException("saved aggregation state holds a duplicate value");
            }
        }

        return table;
    }

    /// <summary>FxHash-style: 8 bytes per step, so ids and ARNs of 10-100 bytes hash in a few multiplications.</summary>
    private static int Hash(ReadOnlySpan<byte> value)
    {
        const ulong Seed = 0x517cc1b727220a95;
        var hash = (ulong)value.Length;
        var i = 0;
        for (; i + 8 <= value.Length; i += 8)
        {
            hash = (BitOperations.RotateLeft(hash, 5) ^ BinaryPrimitives.ReadUInt64LittleEndian(value[i..])) * Seed;
        }

        ulong tail = 0;
        for (; i < value.Length; i++)
        {
            tail = (tail << 8) | value[i];
        }

        hash = (BitOperations.RotateLeft(hash, 5) ^ tail) * Seed;
        return (int)(hash >> 33);
    }

    /// <summary>Ids in ordinal order of their strings: rank[id] is the id's position.</summary>
    public int[] OrdinalRanks()
    {
        var strings = new string[_values.Count];
        var ids = new int[_values.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            strings[i] = GetString(i);
            ids[i] = i;
        }

        Array.Sort(strings, ids, StringComparer.Ordinal);
        var ranks = new int[ids.Length];
        for (var position = 0; position < ids.Length; position++)
        {
            ranks[ids[position]] = position;
        }

        return ranks;
    }

    private void Grow()
    {
        var slots = new int[_slots.Length * 2];
        var hashes = new int[slots.Length];
        var mask = slots.Length - 1;
        for (var i = 0; i < _slots.Length; i++)
        {
            if (_slots[i] == 0)
            {
                continue;
            }

            var slot = _hashes[i] & mask;
            while (slots[slot] != 0)
            {
                slot = (slot + 1) & mask;
            }

            slots[slot] = _slots[i];
            hashes[slot] = _hashes[i];
        }

        _slots = slots;
        _hashes = hashes;
    }
}
