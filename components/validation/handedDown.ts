/**
 * Arguments one of our components built for another after checking every value in them with the shared rules:
 * K3sCluster checks its nodes' version, options, names, taints, labels and annotations once, at its own field paths,
 * then hands the K3sServer, K3sAgent and NodeAnnotations arguments down marked, and those take them as checked
 * instead of running the same rules on the same values again. Arguments from anyone else - a program that builds a
 * K3sServer itself - carry no mark and are checked as always. The mark is not exported from the package.
 */
const handedDown = new WeakSet<object>();

/** Marks arguments whose every value the caller has checked with the rules the receiving component would apply. */
export function checkedAndHandedDown<T extends object>(args: T): T {
    handedDown.add(args);
    return args;
}

/** Whether these arguments were checked by the component that built them (see checkedAndHandedDown). */
export function checkedAbove(args: object): boolean {
    return handedDown.has(args);
}
