/** Who sent a message. Transports may format the address lazily: only logs and client policy read it. */
export interface Peer {
  readonly address: string;
}
