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
    // Values live end to end in one arena and are found through one array of (hash, id) slots, so that a lookup touches
    // few cache lines: with tens of thousands of keys per report, a lookup per row was mostly cache misses.
    private byte[] _arena = new byte[1024];
    private int _arenaLength;
    private Extent[] _extents = new Extent[16];
    private int _count;
    private Slot[] _slots = new Slot[64];
    private int _lastId = -1;

    public int Count => _count;

    public ReadOnlySpan<byte> this[int id] => _arena.AsSpan(_extents[id].Start, _extents[id].Length);

    public string GetString(int id) => Encoding.UTF8.GetString(this[id]);

    public int GetOrAdd(ReadOnlySpan<byte> value)
    {
        if (_lastId >= 0 && value.SequenceEqual(this[_lastId]))
        {
            return _lastId;
        }

        var hash = Hash(value);
        var mask = _slots.Length - 1;
        var slot = hash & mask;
        while (true)
        {
            ref var entry = ref _slots[slot];
            if (entry.IdPlusOne == 0)
            {
                break;
            }

            if (entry.Hash == hash && value.SequenceEqual(this[entry.IdPlusOne - 1]))
            {
                _lastId = entry.IdPlusOne - 1;
                return _lastId;
            }

            slot = (slot + 1) & mask;
        }

        var id = Append(value);
        _slots[slot] = new Slot(hash, id + 1);
        if (_count * 2 > _slots.Length)
        {
            Grow();
        }

        _lastId = id;
        return id;
    }

    private int Append(ReadOnlySpan<byte> value)
    {
        if (_arenaLength + value.Length > _arena.Length)
        {
            Array.Resize(ref _arena, Math.Max(_arena.Length * 2, _arenaLength + value.Length));
        }

        if (_count == _extents.Length)
        {
            Array.Resize(ref _extents, _extents.Length * 2);
        }

        value.CopyTo(_arena.AsSpan(_arenaLength));
        _extents[_count] = new Extent(_arenaLength, value.Length);
        _arenaLength += value.Length;
        return _count++;
    }

    private readonly record struct Extent(int Start, int Length);

    private readonly record struct Slot(int Hash, int IdPlusOne);

    public void Write(BinaryWriter writer)
    {
        writer.Write(_count);
        for (var id = 0; id < _count; id++)
        {
            var value = this[id];
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
        var strings = new string[_count];
        var ids = new int[_count];
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
        var slots = new Slot[_slots.Length * 2];
        var mask = slots.Length - 1;
        foreach (var entry in _slots)
        {
            if (entry.IdPlusOne == 0)
            {
                continue;
            }

            var slot = entry.Hash & mask;
            while (slots[slot].IdPlusOne != 0)
            {
                slot = (slot + 1) & mask;
            }

            slots[slot] = entry;
        }

        _slots = slots;
    }
}
