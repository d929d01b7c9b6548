/**
 * Message layouts are written as one string per message, a list of `name=number[:type]` tokens:
 *
 *   name            JSON field name (the generated .proto names are the JSON names)
 *   number          protobuf field number
 *   type            string when omitted; int32, int64, bool, double, bytes; or a message name
 *   [type]          repeated field;  {type}  map with string keys
 *   trailing ?      Go marshals this scalar without a pointer and with omitempty, so its zero value
 *                   never reaches JSON even though proto2 always writes it on the wire
 *   leading ...     embedded struct whose fields Go inlines into the parent's JSON
 *
 * Message names resolve in the message's own package first, then in `meta`, then in `core`;
 * `pkg.Name` names a message of another package explicitly.
 */
export type MessageTable = Record<string, string>;
