export declare function indentStyle(text: string): { tabLines: number; spaceLines: number; unit: number };
export declare function isTabIndented(text: string): boolean;
export declare function spacesToTabs(text: string, unit: number): string;
